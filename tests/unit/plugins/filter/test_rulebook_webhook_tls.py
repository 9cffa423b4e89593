"""rulebook_webhook_tls: the shipped rulebook, its webhook with the certificate and nothing else changed; clear
failures for what is no rulebook or sets TLS itself. The rulebook it renders is served over TLS by the real
ansible-rulebook in tests/integration/incident/."""
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.redfire.ops.plugins.filter.web_config import FilterModule

ROOT = Path(__file__).resolve().parents[4]
SHIPPED = (ROOT / 'extensions' / 'eda' / 'rulebooks' / 'redfire_alerts.yml').read_text(encoding='utf-8')
rulebook_webhook_tls = FilterModule().filters()['rulebook_webhook_tls']
CERT, KEY, CA = '/etc/redfire-ops/web/rulebook/tls.crt', '/etc/redfire-ops/web/rulebook/tls.key', '/x/ca.crt'


def test_the_shipped_rulebook_gets_tls_on_its_webhook_only():
    shipped = yaml.safe_load(SHIPPED)
    rendered_text = rulebook_webhook_tls(SHIPPED, CERT, KEY, source='redfire.ops.redfire_alerts')
    assert rendered_text.startswith('# Rendered by redfire.ops.rulebook from redfire.ops.redfire_alerts')
    rendered = yaml.safe_load(rendered_text)
    webhook = rendered[0]['sources'][0]['eda.builtin.webhook']
    assert webhook == dict(shipped[0]['sources'][0]['eda.builtin.webhook'], certfile=CERT, keyfile=KEY)
    assert 'cafile' not in webhook
    # everything else as shipped: rules, strategy, names, the token's variable
    rendered[0]['sources'][0]['eda.builtin.webhook'] = shipped[0]['sources'][0]['eda.builtin.webhook']
    assert rendered == shipped
    # the same input, the same text: a second run changes nothing
    assert rulebook_webhook_tls(SHIPPED, CERT, KEY, source='redfire.ops.redfire_alerts') == rendered_text


def test_a_client_ca_requires_client_certificates():
    webhook = yaml.safe_load(rulebook_webhook_tls(SHIPPED, CERT, KEY, CA))[0]['sources'][0]['eda.builtin.webhook']
    assert webhook['cafile'] == CA


def test_every_webhook_source_of_every_ruleset():
    text = yaml.safe_dump([
        {'name': 'a', 'hosts': 'all', 'sources': [{'ansible.eda.webhook': {'port': 1}}, {'ansible.eda.range': {'limit': 2}}],
         'rules': []},
        {'name': 'b', 'hosts': 'all', 'sources': [{'name': 'w', 'eda.builtin.webhook': {'port': 2}}], 'rules': []}])
    rendered = yaml.safe_load(rulebook_webhook_tls(text, CERT, KEY))
    assert rendered[0]['sources'] == [{'ansible.eda.webhook': {'port': 1, 'certfile': CERT, 'keyfile': KEY}},
                                      {'ansible.eda.range': {'limit': 2}}]
    assert rendered[1]['sources'] == [{'name': 'w', 'eda.builtin.webhook': {'port': 2, 'certfile': CERT, 'keyfile': KEY}}]


@pytest.mark.parametrize('text,message', [
    ('a: [', 'mine.yml is not YAML'),
    ('just: a mapping', 'mine.yml is not a rulebook'),
    (yaml.safe_dump([{'name': 'r', 'sources': [{'ansible.eda.range': {'limit': 1}}]}]), 'mine.yml has no webhook source'),
    (yaml.safe_dump([{'name': 'r', 'sources': [{'eda.builtin.webhook': {'port': 1, 'certfile': '/a'}}]}]),
     "the webhook of ruleset 'r' in mine.yml sets certfile itself; remove them, or run it without"),
])
def test_what_is_not_a_plain_webhook_rulebook_fails_naming_it(text, message):
    with pytest.raises(AnsibleFilterError, match='rulebook_webhook_tls: ' + message.replace('(', r'\(')):
        rulebook_webhook_tls(text, CERT, KEY, source='mine.yml')


@pytest.mark.parametrize('certfile,keyfile', [('', KEY), (CERT, ''), (None, KEY)])
def test_the_certificate_and_key_are_required(certfile, keyfile):
    with pytest.raises(AnsibleFilterError, match='must be a path'):
        rulebook_webhook_tls(SHIPPED, certfile, keyfile)
