#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: health_check
short_description: Check a host's health (system, services, endpoints, databases) against thresholds
version_added: 0.1.0
description:
  - Runs the host health checks of the RedFire operations guide in well under a second and reports
    one Nagios-style status per check and overall (C(ok) < C(warning) < C(unknown) < C(critical)).
  - System checks (C(cpu), C(load), C(memory), C(swap), C(disk)) run by default with the guide's thresholds
    (CPU above 80%, memory above 85%, disk above 90% are warnings). The CPU is sampled over O(cpu_sample)
    seconds, never a blocking second.
  - Checks that need configuration (O(network_targets), O(services), O(processes), O(ports), O(http),
    O(postgresql), O(redis), O(logs)) run when that option is given, or when named in O(checks); a check named in
    O(checks) without configuration is skipped and listed in RV(skipped), never failed. No remote host is
    contacted unless it is named in the options.
  - Network-bound checks and the C(statvfs) of every mount run concurrently, each with its own timeout, so
    the module's wall time is bounded by the largest timeout and a hung mount (stale NFS) is reported as
    C(unknown) instead of hanging the task.
  - Every timeout holds whatever the user's regular expressions do. The log scan (O(logs)) runs in a forked child
    process, killed at O(logs.timeout) if it has not returned (a scan its own deadline cuts reports what it counted
    as incomplete, C(unknown)). An O(http[].body_regex) is matched after the threads are done, in the module's main
    thread, within what is left of that endpoint's timeout; one that backtracks past it gives C(unknown) naming
    O(http[].body_regex). Only such a pattern can add to the wall time, by at most its endpoint's timeout.
  - Credentials in URLs and DSNs (C(user:pass@), query values such as C(?token=...), C(password=...)) are
    masked as C(***) in every check name, message and textfile label.
  - Systemd units are read with a single C(systemctl show) call for all of them.
  - An info module, C(changed) is always V(false). The only side effect is the optional O(textfile), written
    atomically and never in check mode.
author:
  - RedFire operations engineering (@redfire)
options:
  checks:
    description:
      - The checks to run. Default is C(cpu), C(load), C(memory), C(swap), C(disk) plus every check whose
        option (O(network_targets), O(services), O(processes), O(ports), O(http), O(postgresql), O(redis),
        O(logs)) is given.
      - C(time_sync) (kernel clock synchronised by NTP/chrony, via C(adjtimex)) runs only when listed here.
    type: list
    elements: str
    choices: [cpu, load, memory, swap, disk, network, services, processes, ports, http, postgresql, redis, logs, time_sync]
  cpu_sample:
    description: Seconds over which CPU usage is sampled (0 to 5). V(0) compares with the previous call in the same process.
    type: float
    default: 0.1
  thresholds:
    description:
      - Warning and critical thresholds of the system checks; a value above the threshold sets the status.
      - Percentages (C(cpu), C(memory), C(swap), C(disk), C(inodes)) must be between 0 and 100; C(load) is the
        5-minute load average per CPU core. Warning must not be above critical.
      - 'Defaults: cpu 80/95, memory 85/95, swap 50/80, disk 90/95, inodes 90/95, load 1.5/3.0.'
    type: dict
    suboptions:
      cpu:
        description: CPU usage percent.
        type: dict
        suboptions:
          warning:
            description: 'Warning threshold.'
            type: float
          critical:
            description: 'Critical threshold.'
            type: float
      load:
        description: 5-minute load average per core.
        type: dict
        suboptions:
          warning:
            description: 'Warning threshold.'
            type: float
          critical:
            description: 'Critical threshold.'
            type: float
      memory:
        description: Memory used percent.
        type: dict
        suboptions:
          warning:
            description: 'Warning threshold.'
            type: float
          critical:
            description: 'Critical threshold.'
            type: float
      swap:
        description: Swap used percent (a host without swap is V(ok)).
        type: dict
        suboptions:
          warning:
            description: 'Warning threshold.'
            type: float
          critical:
            description: 'Critical threshold.'
            type: float
      disk:
        description: Disk space used percent (as C(df), against space available to unprivileged users).
        type: dict
        suboptions:
          warning:
            description: 'Warning threshold.'
            type: float
          critical:
            description: 'Critical threshold.'
            type: float
      inodes:
        description: Inodes used percent.
        type: dict
        suboptions:
          warning:
            description: 'Warning threshold.'
            type: float
          critical:
            description: 'Critical threshold.'
            type: float
  disk_mounts:
    description:
      - Paths whose file systems are checked. Default is every real mount (pseudo file systems such as
        C(proc), C(tmpfs), C(squashfs) are left out).
      - Each path must be absolute and readable, or the task fails.
    type: list
    elements: path
  disk_timeout:
    description: Seconds to wait for the C(statvfs) of one mount; a mount that does not answer is V(unknown).
    type: float
    default: 5.0
  timeout:
    description: Default timeout in seconds of every network-bound check and of C(systemctl show).
    type: float
    default: 5.0
  network_targets:
    description: Network reachability targets. Without targets the C(network) check is skipped.
    type: list
    elements: dict
    suboptions:
      type:
        description: V(tcp) connects to O(network_targets[].address) C(host:port); V(http) GETs a URL; V(dns) resolves a name.
        type: str
        choices: [tcp, http, dns]
        default: tcp
      address:
        description: C(host:port) (C([v6]:port) for IPv6), a URL, or a DNS name.
        type: str
        required: true
      name:
        description: Check name in the results (default C(<type>:<address>)).
        type: str
      timeout:
        description: Seconds; default O(timeout).
        type: float
      warning:
        description: Latency in seconds above which the target is V(warning).
        type: float
      critical:
        description: Latency in seconds above which the target is V(critical).
        type: float
  services:
    description: Systemd units that must be active (C(.service) is implied when no suffix is given).
    type: list
    elements: str
  processes:
    description: Process names that must be running (for hosts without systemd); needs psutil.
    type: list
    elements: str
  ports:
    description: TCP ports that must be listening on this host (any local address).
    type: list
    elements: int
  http:
    description: HTTP(S) endpoints; each is fetched once with GET (redirects are not followed).
    type: list
    elements: dict
    suboptions:
      url:
        description: C(http://) or C(https://) URL.
        type: str
        required: true
      name:
        description: Check name in the results (default the URL).
        type: str
      expected_status:
        description: Status codes that count as healthy.
        type: list
        elements: int
        default: [200]
      body_regex:
        description: Python regular expression the body (first MiB) must match.
        type: str
      timeout:
        description: Seconds; default O(timeout).
        type: float
      warning:
        description:
          - Response time in seconds above which the endpoint is V(warning).
          - Default V(1.0), or O(http[].critical) when that is lower.
        type: float
      critical:
        description:
          - Response time in seconds above which the endpoint is V(critical).
          - Default V(2.0) (the guide, API slower than 2 s), or O(http[].warning) when that is higher.
        type: float
      validate_certs:
        description: Verify the server certificate for https. The expiry check runs either way.
        type: bool
        default: true
      ca_path:
        description: CA bundle (PEM) to verify the server certificate with (for the collection's endpoints the CA of
          C(redfire.ops.web_config), for example C(/etc/prometheus/web/ca.crt)).
        type: path
      client_cert:
        description: Client certificate (PEM) to present over https (with O(http[].client_key)).
        type: path
      client_key:
        description: Unencrypted private key (PEM) of O(http[].client_cert).
        type: path
      url_username:
        description: User name for HTTP basic authentication (with O(http[].url_password)).
        type: str
      url_password:
        description: Password for HTTP basic authentication; never logged nor shown in results.
        type: str
      cert_warning_days:
        description: For https, days to certificate expiry below which the extra C(cert:<name>) check is V(warning).
        type: float
        default: 14
      cert_critical_days:
        description: Days to certificate expiry below which the C(cert:<name>) check is V(critical).
        type: float
        default: 3
  postgresql:
    description: PostgreSQL servers to connect to and run C(SELECT 1) on; needs psycopg2 or psycopg on the host.
    type: list
    elements: dict
    suboptions:
      host:
        description: 'Host name, address or Unix socket directory.'
        type: str
        required: true
      port:
        description: 'Port.'
        type: int
        default: 5432
      user:
        description: 'User name.'
        type: str
      password:
        description: 'Password (never logged).'
        type: str
      database:
        description: 'Database name.'
        type: str
      sslmode:
        description: 'libpq sslmode (for example V(require)).'
        type: str
      name:
        description: 'Check name in the results (default C(postgresql:<host>:<port>)).'
        type: str
      timeout:
        description: 'Seconds; default O(timeout).'
        type: float
      warning:
        description: 'Latency in seconds above which the server is V(warning) (default V(0.5) or the critical value when lower).'
        type: float
      critical:
        description: 'Latency in seconds above which the server is V(critical) (default V(1.0) or the warning value when higher).'
        type: float
  redis:
    description: Redis servers to C(PING) (with C(AUTH) when a password is given); needs redis-py on the host.
    type: list
    elements: dict
    suboptions:
      host:
        description: 'Host name or address.'
        type: str
        required: true
      port:
        description: 'Port.'
        type: int
        default: 6379
      user:
        description: 'ACL user name (Redis 6+).'
        type: str
      password:
        description: 'Password (never logged).'
        type: str
      db:
        description: 'Database number.'
        type: int
        default: 0
      tls:
        description: 'Connect with TLS.'
        type: bool
        default: false
      name:
        description: 'Check name in the results (default C(redis:<host>:<port>)).'
        type: str
      timeout:
        description: 'Seconds; default O(timeout).'
        type: float
      warning:
        description: 'Latency in seconds above which the server is V(warning) (default V(0.5) or the critical value when lower).'
        type: float
      critical:
        description: 'Latency in seconds above which the server is V(critical) (default V(1.0) or the warning value when higher).'
        type: float
  logs:
    description:
      - The daily checklist's log checks, two results. C(log_size) is the largest regular file matching
        O(logs.paths), in MB. C(log_errors) counts the error lines of the last O(logs.hours) in those files and in
        their rotated siblings (C(app.log.1), C(app.log-20240101.gz)); rotated files outside the window are
        skipped by their timestamps; and the error entries of the same window in the journal of the units of
        O(logs.journal) (a multi-line entry counts once per category, as in M(redfire.ops.log_analysis)).
      - Error lines are counted by the core of M(redfire.ops.log_analysis) (same categories, time stamps and
        rotation handling), in this process only; its O(redfire.ops.log_analysis#module:workers) are not used,
        because forking from the module's threads is unsafe. For a full analysis (messages, traces, a report) use
        M(redfire.ops.log_analysis).
      - No matching file is not a problem (both checks V(ok), value 0). A file that cannot be read, is read only
        in part, or has no line with a timestamp of the configured format makes C(log_errors) V(unknown) unless it
        is V(critical) already, because its errors may be missing from the count; so does a journal source that
        cannot be read (no C(journalctl), no permission to read the journal, see below) or a unit systemd does not know.
    type: dict
    suboptions:
      paths:
        description: 'Absolute paths or shell globs of the log files (C(/var/log/redfire/*.log)). Hidden files and
          symlinks are left out. Required unless O(logs.journal) is given.'
        type: list
        elements: path
      journal:
        description:
          - Journal sources whose error entries of the window are counted in C(log_errors) with the files, read
            with the host's C(journalctl) as O(redfire.ops.log_analysis#module:journal) reads them (a unit name
            such as C(redfire-backend), or C({unit, matches, name})).
          - Reading the system journal needs root (become) or the C(systemd-journal) group.
        type: list
        elements: raw
      hours:
        description: The window of C(log_errors), the last hours up to now (greater than 0).
        type: float
        default: 24
      categories:
        description: 'Error categories, name to regular expression, as O(redfire.ops.log_analysis#module:categories)
          (default the guide''s four: database, API, trading and system errors).'
        type: dict
      timestamp_format:
        description: 'C(strptime) format of the logs'' timestamps, as
          O(redfire.ops.log_analysis#module:timestamp_format) (default the guide''s C(YYYY-MM-DD HH:MM:SS)).'
        type: str
      timestamp_regex:
        description: 'Regular expression that finds the timestamp in a line, as
          O(redfire.ops.log_analysis#module:timestamp_regex).'
        type: str
      size_warning_mb:
        description: 'Size in MB of the largest file above which C(log_size) is V(warning) (default V(500)).'
        type: float
      size_critical_mb:
        description: 'Size in MB above which C(log_size) is V(critical) (default V(2048)).'
        type: float
      errors_warning:
        description: 'Error lines above which C(log_errors) is V(warning) (default V(0): any error line).'
        type: float
      errors_critical:
        description: 'Error lines above which C(log_errors) is V(critical) (default V(50)).'
        type: float
      timeout:
        description: Seconds the log checks may take (0 to 300) before both are V(unknown).
        type: float
        default: 60
  fail_on:
    description:
      - V(never) always succeeds (read RV(status)); V(warning) fails the task when the overall status is
        V(warning), V(unknown) or V(critical); V(critical) fails it only on V(critical).
      - A failed task carries RV(summary) as its message and all other return values.
    type: str
    choices: [never, warning, critical]
    default: never
  textfile:
    description:
      - Write the results as Prometheus metrics to this C(.prom) file (node_exporter's textfile collector
        directory), atomically (temporary file in the same directory, then rename). Not written in check mode.
      - The directory must exist and be writable; in check mode a missing directory is only a warning, so a play
        whose earlier tasks create it (for example the redfire.ops.node_exporter role) can be checked first.
      - 'Metrics: C(redfire_health_check_status{check,kind}) (0 ok, 1 warning, 2 critical, 3 unknown),
        C(redfire_health_check_value{check,kind,unit}), C(redfire_health_check_overall_status),
        C(redfire_health_check_last_run_timestamp_seconds).'
    type: path
  textfile_missing_directory:
    description:
      - What to do when the directory of O(textfile) does not exist. V(fail) fails the task (in check mode it
        only warns). V(skip) writes nothing and succeeds with RV(textfile_written) false, for playbooks that run
        on hosts with and without node_exporter.
    type: str
    choices: [fail, skip]
    default: fail
requirements:
  - psutil (for the cpu, memory, swap, disk and processes checks)
  - psycopg2 or psycopg (for postgresql checks)
  - redis (redis-py, for redis checks)
extends_documentation_fragment:
  - redfire.ops.attributes
  - redfire.ops.attributes.INFO_MODULE
notes:
  - Tested on managed hosts running Debian 12 (bookworm) with its Python 3.11, Debian 13 (trixie) with its Python 3.13, and on Python 3.8 (with ansible-core
    2.16) and 3.9 (with ansible-core 2.21) by the collection's compat tests; other distributions are untested.
  - Linux only (C(/proc), C(statvfs), C(adjtimex), systemd).
  - Threads that time out (a hung NFS mount, an unanswered connection) are left behind as daemon threads and
    end with the module process; they never delay the result.
seealso:
  - name: Nagios plugin guidelines
    description: Status semantics and perfdata format of RV(summary).
    link: https://nagios-plugins.org/doc/guidelines.html
'''

EXAMPLES = r'''
- name: Default system checks with the guide's thresholds
  redfire.ops.health_check:
  register: health

- name: Application host, failing the play on critical health and feeding node_exporter
  redfire.ops.health_check:
    services: [redfire-api, nginx]
    ports: [8080]
    http:
      - url: https://127.0.0.1:8443/health
        name: api
        body_regex: '"status":\s*"ok"'
        ca_path: /etc/redfire/ca.pem
      - url: https://127.0.0.1:9100/metrics
        name: node_exporter
        ca_path: /etc/redfire-ops/web/node_exporter/ca.crt
        url_username: prometheus
        url_password: "{{ vault_web_config_client_password }}"
    postgresql:
      - host: db.internal
        user: monitor
        password: "{{ vault_pg_monitor_password }}"
        database: redfire
    redis:
      - host: 127.0.0.1
        password: "{{ vault_redis_password }}"
    network_targets:
      - type: tcp
        address: exchange-gw.internal:443
      - type: dns
        address: exchange-gw.internal
    thresholds:
      disk: {warning: 80, critical: 90}
    fail_on: critical
    textfile: /var/lib/prometheus/node-exporter/redfire_health.prom

- name: Daily checklist of a host, the textfile only where node_exporter is installed
  redfire.ops.health_check:
    services: [redfire-app]
    logs:
      paths: [/var/log/redfire/*.log]
      hours: 24
      errors_critical: 50
    textfile: /var/lib/prometheus/node-exporter/redfire_health.prom
    textfile_missing_directory: skip

- name: Show a table of the results
  ansible.builtin.debug:
    msg: "{{ health.checks | redfire.ops.health_table }}"
'''

RETURN = r'''
missing_libraries:
  description:
    - When the selected checks need a Python library that the host's Python cannot import, the module fails and
      lists each here, with the Debian package that provides it. the role C(redfire.ops.checklist) reports such a host as
      not checked with reason C(missing_library).
  returned: failure, when a library is missing
  type: list
  elements: dict
  contains:
    check:
      description: The check that needs it.
      type: str
      sample: cpu
    library:
      description: The Python library.
      type: str
      sample: psutil
    package:
      description: The Debian package that provides it.
      type: str
      sample: python3-psutil
status:
  description: Worst status of all checks (C(ok) < C(warning) < C(unknown) < C(critical)).
  returned: always
  type: str
  sample: warning
checks:
  description: One entry per check result (a disk check gives a C(disk:<mount>) and an C(inodes:<mount>) entry).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: 'Check name (C(cpu), C(disk:/), C(service:nginx), C(api), C(cert:api), ...).'
      type: str
      returned: always
    kind:
      description:
        - Check kind (C(cpu), C(load), C(memory), C(swap), C(disk), C(inodes), C(network), C(service), C(process),
          C(port), C(http), C(certificate), C(postgresql), C(redis), C(log_size), C(log_errors), C(time_sync)).
      type: str
      returned: always
    status:
      description: 'C(ok), C(warning), C(critical) or C(unknown).'
      type: str
      returned: always
    value:
      description: 'Measured value in the unit of RV(checks[].unit), null when not measured.'
      type: raw
      returned: always
    unit:
      description: 'C(%), C(s), C(d) (days), C(MB) or empty.'
      type: str
      returned: always
    warning:
      description: 'Warning threshold or null.'
      type: float
      returned: always
    critical:
      description: 'Critical threshold or null.'
      type: float
      returned: always
    message:
      description: 'What was found, with the reason for a non-ok status.'
      type: str
      returned: always
    reason:
      description:
        - 'Machine-readable reason of the status, for playbooks to decide on (never parse C(message)); null where a check
          gives none. Service checks give C(active), C(unit_not_found), C(unit_masked), C(unit_error), C(unit_bad_setting),
          C(unit_activating), C(unit_reloading), C(unit_deactivating), C(unit_inactive), C(unit_failed), C(no_state) or
          C(systemctl_failed).'
      type: str
      returned: always
    duration_ms:
      description: 'Time the check took.'
      type: float
      returned: always
  sample:
    - {name: cpu, kind: cpu, status: ok, value: 12.5, unit: '%', warning: 80.0, critical: 95.0,
       message: cpu usage 12.5% over 0.1s, duration_ms: 100.4}
skipped:
  description: Checks selected but without configuration, with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{name: network, reason: no network_targets given}]
summary:
  description: One Nagios-style line with perfdata.
  returned: always
  type: str
  sample: "HEALTH WARNING - cpu warning: cpu usage 85.1% > warning 80% over 0.1s | cpu=85.1%;80;95 memory=40%;85;95"
health_status:
  description: The guide's C(health_status) keys, for scripts built on the guide.
  returned: always
  type: dict
  contains:
    cpu_usage:
      description: 'CPU percent or null.'
      type: float
      returned: always
    memory_usage:
      description: 'Memory percent or null.'
      type: float
      returned: always
    disk_usage:
      description: 'Percent used of C(/) (or the fullest checked mount) or null.'
      type: float
      returned: always
    network_status:
      description: 'C(connected), C(disconnected) or C(skipped) (no targets).'
      type: str
      returned: always
textfile_written:
  description: Whether O(textfile) was written (false in check mode, without O(textfile), or when its directory
    is missing and O(textfile_missing_directory=skip)).
  returned: always
  type: bool
'''

import os
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.redfire.ops.plugins.module_utils import health_checks as core
from ansible_collections.redfire.ops.plugins.module_utils.url_secrets import option_secrets

_THRESHOLD = dict(type='dict', options=dict(warning=dict(type='float'), critical=dict(type='float')))


def argument_spec():
    return dict(
        checks=dict(type='list', elements='str', choices=list(core.ALL_CHECKS)),
        cpu_sample=dict(type='float', default=core.DEFAULT_CPU_SAMPLE),
        thresholds=dict(type='dict', options=dict((k, dict(_THRESHOLD)) for k in sorted(core.DEFAULT_THRESHOLDS))),
        disk_mounts=dict(type='list', elements='path'),
        disk_timeout=dict(type='float', default=core.DEFAULT_DISK_TIMEOUT),
        timeout=dict(type='float', default=core.DEFAULT_TIMEOUT),
        network_targets=dict(type='list', elements='dict', options=dict(
            type=dict(type='str', choices=['tcp', 'http', 'dns'], default='tcp'),
            address=dict(type='str', required=True),
            name=dict(type='str'),
            timeout=dict(type='float'),
            warning=dict(type='float'),
            critical=dict(type='float'),
        )),
        services=dict(type='list', elements='str'),
        processes=dict(type='list', elements='str'),
        ports=dict(type='list', elements='int'),
        http=dict(type='list', elements='dict', options=dict(
            url=dict(type='str', required=True),
            name=dict(type='str'),
            expected_status=dict(type='list', elements='int', default=[200]),
            body_regex=dict(type='str'),
            timeout=dict(type='float'),
            warning=dict(type='float'),
            critical=dict(type='float'),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
            client_cert=dict(type='path'),
            client_key=dict(type='path', no_log=False),
            url_username=dict(type='str'),
            url_password=dict(type='str', no_log=True),
            cert_warning_days=dict(type='float', default=core.DEFAULT_CERT_WARNING_DAYS),
            cert_critical_days=dict(type='float', default=core.DEFAULT_CERT_CRITICAL_DAYS),
        )),
        postgresql=dict(type='list', elements='dict', options=dict(
            host=dict(type='str', required=True),
            port=dict(type='int', default=5432),
            user=dict(type='str'),
            password=dict(type='str', no_log=True),
            database=dict(type='str'),
            sslmode=dict(type='str'),
            name=dict(type='str'),
            timeout=dict(type='float'),
            warning=dict(type='float'),
            critical=dict(type='float'),
        )),
        redis=dict(type='list', elements='dict', options=dict(
            host=dict(type='str', required=True),
            port=dict(type='int', default=6379),
            user=dict(type='str'),
            password=dict(type='str', no_log=True),
            db=dict(type='int', default=0),
            tls=dict(type='bool', default=False),
            name=dict(type='str'),
            timeout=dict(type='float'),
            warning=dict(type='float'),
            critical=dict(type='float'),
        )),
        logs=dict(type='dict', options=dict(
            paths=dict(type='list', elements='path'),
            journal=dict(type='list', elements='raw'),
            hours=dict(type='float', default=core.DEFAULT_LOG_HOURS),
            categories=dict(type='dict'),
            timestamp_format=dict(type='str'),
            timestamp_regex=dict(type='str'),
            size_warning_mb=dict(type='float'),
            size_critical_mb=dict(type='float'),
            errors_warning=dict(type='float'),
            errors_critical=dict(type='float'),
            timeout=dict(type='float', default=core.DEFAULT_LOG_TIMEOUT),
        )),
        fail_on=dict(type='str', choices=['never', 'warning', 'critical'], default='never'),
        textfile=dict(type='path'),
        textfile_missing_directory=dict(type='str', choices=['fail', 'skip'], default='fail'),
    )


def write_textfile(module, path, content):
    """Temp file in the target directory, then atomic rename (node_exporter never sees a partial file)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    # Credentials inside URLs and DSNs: Ansible then masks them in the invocation (-v) and everywhere else
    module.no_log_values.update(option_secrets(params))

    try:
        cfg = core.normalize(params)
    except core.ConfigError as exc:
        module.fail_json(msg=str(exc), changed=False)

    missing = core.missing_libraries(cfg)
    if missing:
        # every missing library at once, with the package that provides it (redfire.ops.host_prereqs installs them)
        packages = sorted(set(m.package for m in missing))
        module.fail_json(
            msg='%s; on Debian and Ubuntu install %s (redfire.ops.host_prereqs does, and playbooks/site.yml runs it)'
                % ('; '.join('%s (needed by the %s check)' % (missing_required_lib(m.library), m.check) for m in missing),
                   ' '.join(packages)),
            missing_libraries=[m._asdict() for m in missing], changed=False)

    textfile = params['textfile']
    if textfile and params['textfile_missing_directory'] == 'skip' and \
            not core.validate_textfile(textfile, shape_only=True) and not os.path.isdir(os.path.dirname(textfile)):
        textfile = None  # node_exporter's textfile directory is not on this host
    if textfile:
        reason = core.validate_textfile(textfile, shape_only=module.check_mode)
        if reason:
            module.fail_json(msg='textfile: %s' % reason, changed=False)
        if module.check_mode and core.validate_textfile(textfile):
            module.warn('textfile: %s (check mode writes nothing; a real run fails unless an earlier task fixes it)'
                        % core.validate_textfile(textfile))

    try:
        res = core.run_checks(cfg)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='health checks failed unexpectedly: %s' % exc, exception=traceback.format_exc(), changed=False)

    res['changed'] = False
    res['textfile_written'] = False
    if textfile and not module.check_mode:
        try:
            write_textfile(module, textfile, core.render_textfile(res['status'], res['checks']))
        except (IOError, OSError) as exc:
            module.fail_json(msg='textfile: cannot write %s: %s' % (textfile, exc), **res)
        res['textfile_written'] = True

    fail_on = params['fail_on']
    if (fail_on == 'critical' and res['status'] == 'critical') or \
            (fail_on == 'warning' and res['status'] != 'ok'):
        module.fail_json(msg=res['summary'], **res)
    module.exit_json(**res)


if __name__ == '__main__':
    main()
