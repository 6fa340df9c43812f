"""A small exception hierarchy: messages name the file, sample and problem before they are raised."""


class OncopanelError(Exception):
    """Base of every error oncopanel raises on purpose."""


class InputError(OncopanelError):
    """Bad input: a file, sample-sheet row or record that cannot be used. The message says which and why."""


class ValidationError(InputError):
    """Config or sample sheet breaks its schema; carries every problem found, not just the first."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


