import sibling


def shout(text):
    return f"{text.upper()}! ({sibling.NAME})"
