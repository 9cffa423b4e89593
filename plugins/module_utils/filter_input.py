# -*- coding: utf-8 -*-
# Copyright: RedFire operations engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by the collection's filters: malformed input is an error naming the filter and what is
wrong, never a raw KeyError or TypeError. Pure Python: the error class is the filter's (AnsibleFilterError)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import math


def is_number(value):
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def guarded(name, func, error):
    """``func`` with any error its checks did not foresee turned into ``error`` naming the filter: the safety net
    under the explicit checks, so that no input ends in a raw exception."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except error:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
            what = ('missing key %s' % exc) if isinstance(exc, KeyError) else '%s: %s' % (type(exc).__name__, exc)
            raise error('%s: the input is not the shape this filter takes (%s); see ansible-doc -t filter '
                        'redfire.ops.%s' % (name, what, name))
    return run
