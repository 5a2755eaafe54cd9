"""Shared ending of the tool tests: print each failure and the verdict, return the exit code."""


def report(errors):
    for e in errors:
        print("FAIL", e)
    print("ok" if not errors else "%d failures" % len(errors))
    return 1 if errors else 0
