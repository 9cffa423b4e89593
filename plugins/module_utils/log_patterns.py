# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Category patterns of the log scan: the combined pattern, its literal prefilter and the line classifier.

The literals every match must contain are extracted from the regex parser's tree, so candidate lines are found at
``bytes.find`` speed (three modes: one shared literal with a look-around classifier, several literals, or the
combined regex). Pure Python, no Ansible imports."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.redfire.ops.plugins.module_utils.log_time import TimeOptionError

try:
    import re._parser as _sre_parse  # Python >= 3.11
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse as _sre_parse  # pylint: disable=deprecated-module

DEFAULT_CATEGORIES = {
    'database_error': r'DatabaseError|ConnectionError',
    'api_error': r'APIError|HTTPError',
    'trading_error': r'TradingError|OrderError',
    'system_error': r'SystemError|RuntimeError',
}

# Bad input that the caller reports naming the option (its ``option`` attribute).
LogScanError = TimeOptionError

# One category as the classifier checks it: its literals (folded when ignoring case), or None for a real regex.
CategoryCheck = namedtuple('CategoryCheck', 'name literals regex')
# A category literal around the shared needle: the text before and after it, and the category's bit.
NeedleContext = namedtuple('NeedleContext', 'bit before after')


def _literal_runs(items, flags):
    """Longest literal byte run that every match of the parsed sequence ``items`` must contain."""
    best = b''
    cur = bytearray()
    for op, av in items:
        name = str(op)
        if name == 'LITERAL':
            cur.append(av)
            continue
        if len(cur) > len(best):
            best = bytes(cur)
        cur = bytearray()
        if name == 'SUBPATTERN' and len(av) >= 4:
            sub = _required_literals(av[-1], flags)
            if sub and len(sub) == 1 and len(sub[0]) > len(best):
                best = sub[0]
        elif name in ('MAX_REPEAT', 'MIN_REPEAT') and av[0] >= 1:
            sub = _required_literals(av[2], flags)
            if sub and len(sub) == 1 and len(sub[0]) > len(best):
                best = sub[0]
    if len(cur) > len(best):
        best = bytes(cur)
    return best


def _required_literals(parsed, flags):
    """A list of literals such that every match contains at least one of them, or None."""
    items = list(parsed)
    if len(items) == 1 and str(items[0][0]) == 'BRANCH':
        out = []
        for alt in items[0][1][1]:
            lits = _required_literals(alt, flags)
            if not lits:
                return None
            out.extend(lits)
        return out
    if len(items) == 1 and str(items[0][0]) == 'SUBPATTERN' and len(items[0][1]) >= 4:
        return _required_literals(items[0][1][-1], flags)
    run = _literal_runs(items, flags)
    return [run] if run else None


def _longest_common_substring(words):
    first = min(words, key=len)
    for size in range(len(first), 0, -1):
        for start in range(0, len(first) - size + 1):
            cand = first[start:start + size]
            if all(cand in w for w in words):
                return cand
    return b''


class Matcher(object):
    """Compiled categories, the combined pattern and its literal prefilter."""

    def __init__(self, categories, ignore_case=True):
        if not isinstance(categories, dict) or not categories:
            raise LogScanError('categories', 'categories must be a non-empty mapping of name to regular expression')
        flags = re.MULTILINE | (re.IGNORECASE if ignore_case else 0)
        self.ignore_case = bool(ignore_case)
        self.names = []
        self.regexes = []
        for name, pattern in categories.items():
            if not isinstance(pattern, str) or not pattern:
                raise LogScanError('categories', 'category %s: the pattern must be a non-empty string' % name)
            try:
                rx = re.compile(pattern.encode('utf-8'), flags)
            except re.error as exc:
                raise LogScanError('categories', 'category %s: invalid regular expression %r: %s' % (name, pattern, exc))
            if rx.search(b''):
                raise LogScanError('categories', 'category %s: the pattern %r matches the empty string, so every line '
                                   'would count; make it match the error text' % (name, pattern))
            self.names.append(str(name))
            self.regexes.append(rx)
        combined = b'|'.join(_scoped(rx.pattern) for rx in self.regexes)
        self.combined = re.compile(combined, flags)
        self.fold = self.ignore_case
        self.mode = 'regex'
        self.needles = []
        self.line_finder = re.compile(b'(?:' + combined + b')', flags)
        lits = None
        if ignore_case or not re.search(rb'\(\?[a-zA-Z-]*i', combined):
            try:
                lits = _required_literals(_sre_parse.parse(combined, flags), flags)
            except Exception:  # pylint: disable=broad-except  # the parser is internal; no prefilter then
                lits = None
        if lits and min(len(x) for x in lits) >= 3:
            if ignore_case:
                lits = [x.lower() for x in lits]
            common = _longest_common_substring(lits)
            if len(common) >= 3:
                self.mode = 'literal'
                self.needles = [common]
            else:
                self.mode = 'literals'
                self.needles = sorted(set(lits))
            # the match runs on to the end of the line, so the next hit is on a later line
            self.line_finder = re.compile(b'(?:' + b'|'.join(re.escape(x) for x in self.needles) + b')[^\n]*')
        # categories that are plain alternations of literals are checked with ``in`` on the (folded) line
        self.checks = []
        for name, rx in zip(self.names, self.regexes):
            lit = _pure_literals(rx.pattern, flags)
            if lit and ignore_case:
                lit = [x.lower() for x in lit]
            self.checks.append(CategoryCheck(name, tuple(lit) if lit else None, rx))
        self.classifier, self.classes = (None, None)
        if self.mode == 'literal' and not _self_overlaps(self.needles[0]):
            self.classifier, self.classes = _classifier(self.needles, self.checks)
        self._names_of = {}

    def names_of(self, mask):
        """Category names of a bit mask (bit i = category i), in the order of the categories."""
        names = self._names_of.get(mask)
        if names is None:
            names = self._names_of[mask] = tuple(n for i, n in enumerate(self.names) if mask >> i & 1)
        return names

    def candidates(self, text, end):
        """Lines of text[:end] (folded when ignore_case) in some category: lists (starts, ends, category masks).

        With the classifier every hit is one category literal (found by the needle's fast literal search, told
        apart by look-arounds) and the per-line work is a few list operations; otherwise each candidate line of the
        prefilter is tested against every category."""
        starts, ends, masks = [], [], []
        rfind, find = text.rfind, text.find
        le = -1
        if self.classifier is not None:
            classes = self.classes
            for hit in self.classifier.finditer(text, 0, end):
                pos = hit.start()
                if pos < le:
                    masks[-1] |= classes[hit.lastindex]
                    continue
                le = find(b'\n', pos, end)
                if le == -1:
                    le = end
                starts.append(rfind(b'\n', 0, pos) + 1)
                ends.append(le)
                masks.append(classes[hit.lastindex])
            return starts, ends, masks
        regex_mode = self.mode == 'regex'
        checks = self.checks
        for hit in self.line_finder.finditer(text, 0, end):
            hs = hit.start()
            if hs < le:
                continue
            ls = rfind(b'\n', 0, hs) + 1
            if regex_mode:
                le = find(b'\n', hs, end)
                if le == -1:
                    le = end
            else:
                le = hit.end()  # the prefilter's match runs to the end of the line
            line = text[ls:le]
            mask = 0
            for bit, (_name, lits, rx) in enumerate(checks):
                if lits is not None:
                    if any(lit in line for lit in lits):
                        mask |= 1 << bit
                elif rx.search(line):
                    mask |= 1 << bit
            if mask:
                starts.append(ls)
                ends.append(le)
                masks.append(mask)
        return starts, ends, masks


def _self_overlaps(needle):
    """True when the needle's occurrences can overlap ('aa', 'abab'): finditer would step over some of them."""
    return any(needle[k:] == needle[:len(needle) - k] for k in range(1, len(needle)))


def _classifier(needles, checks):
    """(regex, {group index: category bit}) finding every category literal at the needle they all share.

    ``needle(?:(?<=pre+needle)(?=post)()|...)``: the scan runs at literal-search speed on the needle and the
    look-arounds tell which literal is there. Only when every category is a set of literals and no two literals of
    different categories can match at the same needle (else one alternative would hide the other): (None, None)."""
    if len(needles) != 1 or any(check.literals is None for check in checks):
        return None, None
    needle = needles[0]
    parts, classes, seen = [], {}, []
    for bit, check in enumerate(checks):
        for lit in check.literals:
            at = lit.find(needle)
            if at < 0:
                return None, None
            pre, post = lit[:at], lit[at + len(needle):]
            for other in seen:
                if other.bit != bit and (pre.endswith(other.before) or other.before.endswith(pre)) and \
                        (post.startswith(other.after) or other.after.startswith(post)):
                    return None, None
            seen.append(NeedleContext(bit, pre, post))
            ahead = b'(?=' + re.escape(post) + b')' if post else b''
            parts.append(b'(?<=' + re.escape(pre + needle) + b')' + ahead + b'()')
            classes[len(parts)] = 1 << bit
    return re.compile(re.escape(needle) + b'(?:' + b'|'.join(parts) + b')'), classes


def _scoped(pattern):
    """``(?:pattern)``, with leading global inline flags such as ``(?i)`` turned into scoped ones."""
    m = re.match(rb'^\(\?([aiLmsux]+)\)', pattern)
    if m:
        return b'(?' + m.group(1) + b':' + pattern[m.end():] + b')'
    return b'(?:' + pattern + b')'


def _pure_literals(pattern, flags):
    """The literals of a pattern that is only an alternation of literal strings, else None."""
    if re.search(rb'\(\?[a-zA-Z-]*[imsx]', pattern) or b'^' in pattern or b'$' in pattern:
        return None
    try:
        items = list(_sre_parse.parse(pattern, flags))
    except Exception:  # pylint: disable=broad-except
        return None
    alts = [items]
    if len(items) == 1 and str(items[0][0]) == 'BRANCH':
        alts = items[0][1][1]
    elif len(items) == 1 and str(items[0][0]) == 'SUBPATTERN' and len(items[0][1]) >= 4 and not items[0][1][1]:
        inner = list(items[0][1][-1])
        alts = inner[0][1][1] if len(inner) == 1 and str(inner[0][0]) == 'BRANCH' else [inner]
    out = []
    for alt in alts:
        alt = list(alt)
        if not alt or any(str(op) != 'LITERAL' for op, _av in alt):
            return None
        out.append(bytes(bytearray(av for _op, av in alt)))
    return out
