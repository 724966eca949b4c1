"""Check translation catalogues: ``python tools/check_po.py FILE.po...``

Tryton silently falls back to English for empty and fuzzy entries, and a
translation that loses or misspells a placeholder breaks the message at
run time, so every entry (except the header) must have a non-empty msgstr,
no fuzzy flag, and the same placeholders (``%(name)s`` and Genshi
``${expr}``) as its msgid.  Exits 1 listing the offending entries.

Dependency-free (a small parser instead of polib) so that it runs from a
bare checkout and can be imported by a unit test:
``problems(path) -> list[str]``.
"""
import ast
import re
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r'%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|\$\{[^}]*\}')


class Entry:
    def __init__(self):
        self.line = None
        self.flags = set()
        self.fields = {}  # msgctxt, msgid, msgid_plural, msgstr, msgstr[n]

    def translations(self):
        return [v for k, v in self.fields.items() if k.startswith('msgstr')]


def parse(path):
    "Return the Entry list of the .po file at path (obsolete ones skipped)."
    entries, entry, key = [], Entry(), None
    text = Path(path).read_text(encoding='utf-8')
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#~'):
            continue
        try:
            if line.startswith('"'):
                entry.fields[key] += ast.literal_eval(line)
                continue
            keyword, _, value = line.partition(' ')
            if (keyword in entry.fields or entry.translations()
                    and not keyword.startswith('msgstr')):
                entries.append(entry)  # this line starts the next entry
                entry = Entry()
            if keyword == '#,':
                entry.flags.update(f.strip() for f in value.split(','))
            elif not keyword.startswith('#'):
                key = keyword
                entry.fields[key] = ast.literal_eval(value)
                entry.line = entry.line or number
        except (KeyError, ValueError, SyntaxError):
            raise ValueError(f"line {number}: cannot parse {line!r}")
    if entry.fields:
        entries.append(entry)
    return entries


def problems(path):
    """Return one message per bad entry of the .po file at path.

    An empty list means the catalogue is complete and consistent.
    """
    result = []
    for entry in parse(path):
        msgctxt = entry.fields.get('msgctxt')
        msgid = entry.fields.get('msgid', '')
        if msgctxt is None and not msgid:
            continue  # header
        source = set(PLACEHOLDER.findall(
                msgid + entry.fields.get('msgid_plural', '')))
        translations = entry.translations()
        reasons = []
        if 'fuzzy' in entry.flags:
            reasons.append("fuzzy")
        if not translations or not all(translations):
            reasons.append("untranslated")
        elif any(set(PLACEHOLDER.findall(t)) != source for t in translations):
            reasons.append(f"placeholders differ from {sorted(source)}")
        if reasons:
            result.append(f"line {entry.line}: {', '.join(reasons)}: "
                f"msgctxt {msgctxt!r} msgid {msgid!r}")
    return result


def main(paths):
    if not paths:
        sys.exit(__doc__.split('\n')[0])
    status = 0
    for path in paths:
        try:
            found = problems(path)
        except OSError as exception:
            found = [exception.strerror]
        except ValueError as exception:
            found = [str(exception)]
        for problem in found:
            print(f'{path}: {problem}')
        status = status or bool(found)
    return int(status)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
