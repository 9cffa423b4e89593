"""Fakes for the host cores' injected command runner and program lookup (the host_audit unit tests)."""
import os


class FakeRun:
    """Answers commands by program name (a value, or a function of argv); records every call (argv, env)."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, timeout, env=None):
        self.calls.append((list(argv), env))
        answer = self.answers[os.path.basename(argv[0])]
        return answer(argv) if callable(answer) else answer


def which_in(directory, *names):
    """A `which` that finds only `names`, in `directory`."""
    return lambda name: '%s/%s' % (directory, name) if name in names else None


def by_name(results):
    return dict((r['name'], r) for r in results)
