"""Refresh the zh_CN catalogs of the crm_plus modules.

    python tools/po_export.py crm_plus crm_plus_sale ...   (make po-export)

The catalogs are produced by Tryton itself, in a throwaway SQLite database
in a temporary folder, by one call

    trytond-admin -d po_export -u MODULE... --activate-dependencies \
        -l zh_CN --export-translations

which creates the database, activates the modules with their dependencies,
loads every existing ``locale/zh_CN.po`` (ir and res included), runs the
set / clean / update translation wizards and writes each module's
``locale/zh_CN.po`` (in the source tree: the suite is installed with -e).
Running ``--all``, ``-u`` and the export as three calls gives the same files
with about 20 % less CPU, but ``--all`` without ``-l`` leaves ir and res
without zh_CN, and an override of one of their strings would fail to load.

So every msgstr that still matches a msgid is kept, new msgids come with
an empty msgstr and obsolete entries are gone. Then this script:

- puts back the overrides of other modules' translations (msgctxt
  ``field:party.party,name:party.``: the part after the last colon names a
  record of another module), which Tryton stores under that other module
  and so never exports; they stay in one commented block at the end;
- empties the msgstr that the update wizard guesses for a new msgid from
  another string with the same source (it marks them fuzzy and Tryton does
  not load fuzzy entries); the guesses are printed as suggestions. An
  entry whose msgid changed keeps its old msgstr, marked fuzzy, to review;
- writes a header-only catalog for a module without strings (Tryton's
  export deletes the file), so that each module ships one;
- prints, per module, how many entries are untranslated or fuzzy, and
  checks the files with ``msgfmt --check-format`` when gettext is there.

The database lives only as long as the run (``--keep`` keeps it).
"""
import argparse
import importlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import polib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATABASE = 'po_export'
WRAPWIDTH = 78  # as trytond.ir.translation.Translation.translation_export
# Types whose translation Tryton identifies by the source text too
SOURCE_TYPES = {'report', 'view', 'wizard_button', 'selection'}
OVERRIDE_HEADER = (
    "-" * 75 + "\n"
    "Overrides of translations of other modules (upstream Tryton leaves\n"
    "them empty or missing). The part of msgctxt after the last colon is\n"
    "<module>.<xml id>, or <module>. for fields and models. Tryton stores\n"
    "them under that module and does not export them: tools/po_export.py\n"
    "keeps this block. Keep it last in the file.\n"
    + "-" * 75)


class POFile(polib.POFile):
    "Sorted like trytond.ir.translation.TrytonPOFile"

    def sort(self):
        return super().sort(key=lambda x: (x.msgctxt, x.msgid))


def is_override(entry):
    "Tell whether the entry translates a record of another module"
    return '.' in (entry.msgctxt or '').rsplit(':', 1)[-1]


def new_pofile():
    pofile = POFile(wrapwidth=WRAPWIDTH)
    pofile.metadata = {'Content-Type': 'text/plain; charset=utf-8'}
    return pofile


def read_pofile(path):
    return polib.pofile(path, wrapwidth=WRAPWIDTH, klass=POFile)


def module_dir(name):
    "Return the folder of the Tryton module name (None if unknown)"
    candidates = [name]
    if name in {'ir', 'res'}:
        candidates = ['trytond.' + name]
    else:
        candidates.insert(0, 'trytond.modules.' + name)
    for candidate in candidates:
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        return os.path.dirname(module.__file__)


def check_modules(modules):
    "Each module must be imported from this repository (an -e install)"
    for module in modules:
        path = module_dir(module)
        expected = os.path.join(ROOT, module)
        if not path or os.path.realpath(path) != os.path.realpath(expected):
            sys.exit(f"{module} is imported from {path}, not {expected}: "
                "install the suite with pip install -e . (make env)")


def check_overrides(module, overrides, lang):
    """Return the errors and warnings about the overrides of module.

    Tryton updates the translation of the other module in place: it fails
    when that module's catalog has no such entry, and it changes nothing
    (the entry stays fuzzy, so untranslated) when the msgstr is the same."""
    catalogs = {}
    errors, warnings = [], []
    for entry in overrides:
        ttype, name, res_id = entry.msgctxt.split(':')
        target, fs_id = res_id.split('.', 1)
        if target not in catalogs:
            directory = module_dir(target)
            path = directory and os.path.join(directory, 'locale',
                lang + '.po')
            catalogs[target] = (read_pofile(path)
                if path and os.path.exists(path) else [])
        ctxt = f'{ttype}:{name}:{fs_id}'
        found = [e for e in catalogs[target]
            if e.msgctxt == ctxt and not e.obsolete
            and (ttype not in SOURCE_TYPES or e.msgid == entry.msgid)]
        where = (f"{module}: override {entry.msgctxt!r} {entry.msgid!r}: "
            f"{target}/locale/{lang}.po")
        if not found:
            errors.append(f"{where} has no such entry, loading would fail")
        elif found[0].msgstr == entry.msgstr:
            if 'fuzzy' in found[0].flags:
                warnings.append(f"{where} has the same msgstr as fuzzy, "
                    "the override changes nothing: use another wording")
            else:
                warnings.append(f"{where} has the same msgstr already")
    return errors, warnings


def trytond_admin(args, env, log, label):
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    if not os.path.exists(admin):
        admin = shutil.which('trytond-admin') or 'trytond-admin'
    command = [admin, '-d', DATABASE, *args]
    start = time.monotonic()
    with open(log, 'a') as fp:
        fp.write('$ ' + ' '.join(command) + '\n')
        fp.flush()
        result = subprocess.run(command, env=env, stdout=fp,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT)
    duration = time.monotonic() - start
    print(f"  {label}: {duration:.1f} s")
    if result.returncode:
        with open(log) as fp:
            sys.stderr.write(''.join(fp.readlines()[-40:]))
        sys.exit(f"trytond-admin failed ({result.returncode}), log: {log}")
    return duration


def run_export(modules, lang, directory):
    "Run trytond-admin in a new SQLite database under directory"
    env = {k: v for k, v in os.environ.items()
        if not k.startswith('TRYTOND_') and k != 'TRYTONPASSFILE'}
    passfile = os.path.join(directory, 'admin_password')
    with open(passfile, 'w') as fp:
        fp.write(secrets.token_urlsafe(16) + '\n')
    env.update({
            # SQLite keeps <name>.sqlite in database.path, not in the URI
            'TRYTOND_DATABASE__URI': 'sqlite://',
            'TRYTOND_DATABASE__PATH': directory,
            'TRYTONPASSFILE': passfile,
            })
    open(os.path.join(directory, DATABASE + '.sqlite'), 'a').close()
    log = os.path.join(directory, 'trytond-admin.log')
    # -u on a new database creates it (ir, res) and, given -l, loads the
    # catalogs of every module it activates, ir and res included, before
    # the export wizards run (trytond/admin.py passes the languages to
    # Pool.init): one call does what --all, -u and --export-translations
    # would do in three
    trytond_admin(['-u', *modules, '--activate-dependencies', '-l', lang,
            '--export-translations', '--email', 'admin@example.com'],
        env, log, f"activate, load the {lang} catalogs and export them")


def postprocess(module, path, before, overrides):
    """Rewrite the exported catalog and return the entries to report as
    (untranslated, fuzzy, suggestions).

    before maps each msgctxt of the previous catalog to its msgstrs."""
    pofile = read_pofile(path) if os.path.exists(path) else new_pofile()
    untranslated, fuzzy, suggestions = [], [], {}
    for entry in pofile:
        if ('fuzzy' in entry.flags
                and entry.msgstr not in before.get(entry.msgctxt, ())):
            # Guessed by the update wizard from another string with the
            # same source. A record (model:) whose msgid changed keeps its
            # old msgstr: that one stays fuzzy, to review.
            suggestions[entry.msgctxt] = entry.msgstr
            entry.msgstr = ''
            entry.flags.remove('fuzzy')
        if not entry.msgstr:
            untranslated.append(entry)
        elif 'fuzzy' in entry.flags:
            fuzzy.append(entry)
    for i, entry in enumerate(overrides):
        entry.tcomment = OVERRIDE_HEADER if not i else ''
        pofile.append(entry)
        if not entry.msgstr:
            untranslated.append(entry)
        elif 'fuzzy' in entry.flags:
            fuzzy.append(entry)
    pofile.save(path)
    return pofile, untranslated, fuzzy, suggestions


def msgfmt_check(paths):
    msgfmt = shutil.which('msgfmt')
    if not msgfmt:
        print("msgfmt not found (apt-get install gettext): format not checked")
        return True
    ok = True
    for path in paths:
        result = subprocess.run([msgfmt, '--check-format', '-o', os.devnull,
                path], capture_output=True, text=True)
        if result.returncode:
            ok = False
            print(f"msgfmt --check-format {path}: FAILED\n{result.stderr}")
    if ok:
        print(f"msgfmt --check-format: {len(paths)} files OK")
    return ok


def report(module, pofile, untranslated, fuzzy, suggestions, show):
    total = len([e for e in pofile if not e.obsolete])
    print(f"{module}: {total} entries, {len(untranslated)} untranslated, "
        f"{len(fuzzy)} fuzzy")
    for label, entries in [('untranslated', untranslated), ('fuzzy', fuzzy)]:
        for entry in entries[:show]:
            hint = ''
            if suggestions.get(entry.msgctxt):
                hint = f"  (suggestion: {suggestions[entry.msgctxt]!r})"
            elif entry.msgstr:
                hint = f"  (msgstr of the old msgid: {entry.msgstr!r})"
            print(f"  {label}: {entry.msgctxt} {entry.msgid!r}{hint}")
        if len(entries) > show:
            print(f"  ... and {len(entries) - show} more {label}")


def read_catalogs(modules, lang):
    """Return, per module, the path of its catalog, the msgstrs of each
    msgctxt, the override entries and the file content, and the problems of
    the overrides as (errors, warnings)"""
    catalogs = {}
    errors, warnings = [], []
    for module in modules:
        locale = os.path.join(ROOT, module, 'locale')
        os.makedirs(locale, exist_ok=True)
        path = os.path.join(locale, lang + '.po')
        content = None
        old = []
        if os.path.exists(path):
            with open(path, 'rb') as fp:
                content = fp.read()
            old = read_pofile(path)
        before = {}
        for entry in old:
            if entry.msgstr and not entry.obsolete and not is_override(entry):
                before.setdefault(entry.msgctxt, set()).add(entry.msgstr)
        overrides = [e for e in old if not e.obsolete and is_override(e)]
        catalogs[module] = (path, before, overrides, content)
        module_errors, module_warnings = check_overrides(
            module, overrides, lang)
        errors += module_errors
        warnings += module_warnings
    return catalogs, errors, warnings


def export(modules, lang, catalogs, keep):
    directory = tempfile.mkdtemp(prefix='po_export_')
    print(f"Exporting {lang} of {', '.join(modules)} ({directory})")
    try:
        run_export(modules, lang, directory)
    except BaseException:
        # The export may have rewritten some catalogs, without overrides
        for path, _, _, content in catalogs.values():
            if content is not None:
                with open(path, 'wb') as fp:
                    fp.write(content)
        raise
    finally:
        if keep:
            print(f"Database kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('modules', nargs='+', metavar='MODULE')
    parser.add_argument('-l', '--lang', default='zh_CN')
    parser.add_argument('--keep', action='store_true',
        help="keep the temporary database folder")
    parser.add_argument('--show', type=int, default=50, metavar='N',
        help="list at most N untranslated entries per module")
    parser.add_argument('--check', action='store_true',
        help="exit with 1 if an entry is untranslated or fuzzy or an "
        "override is useless")
    args = parser.parse_args()
    modules = list(dict.fromkeys(args.modules))
    check_modules(modules)
    catalogs, errors, warnings = read_catalogs(modules, args.lang)
    if errors:
        sys.exit('\n'.join(errors))
    for warning in warnings:
        print("warning:", warning)

    start = time.monotonic()
    export(modules, args.lang, catalogs, args.keep)
    missing = 0
    for module in modules:
        path, before, overrides, _ = catalogs[module]
        pofile, untranslated, fuzzy, suggestions = postprocess(
            module, path, before, overrides)
        report(module, pofile, untranslated, fuzzy, suggestions, args.show)
        missing += len(untranslated) + len(fuzzy)
    ok = msgfmt_check([c[0] for c in catalogs.values()])
    print(f"Done in {time.monotonic() - start:.1f} s; review the changes "
        "with: git diff -- '*/locale/*.po'")
    if not ok or (args.check and (missing or warnings)):
        sys.exit(1)


if __name__ == '__main__':
    main()
