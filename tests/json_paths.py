"""Reading the commands' JSON by the dotted names the README uses (``word_len.cov_direction.r``)."""


def at(data: dict, path: str):
    """The value at dotted ``path`` in nested ``data``."""
    for part in path.split("."):
        data = data[part]
    return data


def has(data: dict, path: str) -> bool:
    """True if nested ``data`` holds dotted ``path``."""
    try:
        at(data, path)
    except (KeyError, TypeError):
        return False
    return True
