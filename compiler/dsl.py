"""The aispec DSL front end: ``*.aispec`` text to a RawSpec plus where each part came from.

The DSL is an HCL-like block language that maps 1:1 onto the same plain data as
YAML (see ``grammar/aispec.lark``)::

    project {
      name = penguins
      tags = [tabular, "small data"]
    }
    metrics { acceptance = [f1_macro >= 0.9] }

Nothing here evaluates anything: quantities (``10m``) and expressions
(``f1_macro >= 0.9``, ``int(2, 32)``) are kept as the exact source text.

Parsing never raises for bad input.  The parser is driven token by token (LALR
interactive mode) so that after a syntax error it can repair the input with a
token or two, or skip to the end of the line, and go on to report later errors.
Messages come from a table of example bad inputs, matched on the parser state
where the error happened (the ``match_examples`` technique from lark).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from lark import Lark, TextSlice, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import BasicLexer, LexerThread
from lark.parsers.lalr_interactive_parser import InteractiveParser

from . import codes, grammars
from .comments import Comment, Container, Item, attach_comments
from .diagnostics import Diagnostic
from .raw import MAX_DEPTH, Comments, NodeComments, ParseResult, RawSpec
from .source import Loc, LocationMap, ScalarInfo, SourceFile, Span

__all__ = [
    "Comments",
    "NodeComments",
    "build_parser",
    "is_bare_key",
    "is_bare_value",
    "parse_dsl",
    "parse_dsl_with_comments",
]

GRAMMAR = "aispec.lark"
MAX_ERRORS = 20  # more than this is noise: the first few errors are the useful ones
_MAX_SKIP = 64  # tokens error recovery may drop before giving up on the rest of the file
_WINDOW = 8  # tokens a repair must parse cleanly (up to the end of the line) to be accepted

_OPENERS = {"LBRACE": "RBRACE", "LSQB": "RSQB", "LPAR": "RPAR"}
_CLOSERS = frozenset(_OPENERS.values())
_BRACKET_TEXT = {"LBRACE": "{", "RBRACE": "}", "LSQB": "[", "RSQB": "]", "LPAR": "(", "RPAR": ")"}
_OPENER_NAME = {"LBRACE": "block", "LSQB": "list", "LPAR": "argument list"}

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_PLAIN_NUMBER_RE = re.compile(r"-?[0-9](?:_?[0-9])*(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9]+)?")
_ESCAPE_RE = re.compile(r'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})')
KEYWORDS = frozenset({"true", "false", "null"})


# ------------------------------------------------------------------ parser


def build_parser(strict: bool | None = None) -> Lark:
    """A fresh parser for the DSL grammar.

    ``strict`` makes lark refuse grammar conflicts and terminal collisions; it
    needs the optional ``interegular`` package, so by default it is on only when
    that is installed (the test suite always builds it strictly).
    """
    if strict is None:
        strict = _has_interegular()
    # A basic (context-free) lexer: tokens do not depend on parser state, so the
    # token list can be built once and replayed freely during error recovery.
    return grammars.build(GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True, strict=strict)


def _has_interegular() -> bool:
    try:
        import interegular  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _parser() -> Lark:
    return build_parser()


@functools.cache
def _lexer() -> BasicLexer:
    # Built once (``Lark.lex`` builds a new lexer per call), and without checking
    # the terminals again: building the parser already did.
    conf = copy.copy(_parser().lexer_conf)
    conf.skip_validation = True
    return BasicLexer(conf)


def _tokens(text: str, start: int = 0) -> Iterator[Token]:
    """The tokens of ``text`` from ``start`` on; raises ``UnexpectedCharacters`` at a character no token
    starts with."""
    tokens: Iterator[Token] = LexerThread.from_text(  # type: ignore[no-untyped-call]
        _lexer(), TextSlice(text, start, len(text))).lex(None)
    return tokens


# ------------------------------------------------------------------ public API


def parse_dsl(source: SourceFile) -> ParseResult:
    """Parse DSL text into a RawSpec; syntax problems become diagnostics, never exceptions."""
    return parse_dsl_with_comments(source)[0]


def parse_dsl_with_comments(source: SourceFile) -> tuple[ParseResult, Comments]:
    """Like :func:`parse_dsl`, plus the file's ``#`` comments keyed by the item they belong to."""
    try:
        tree, diagnostics = _parse_tree(source.text, source.path)
    except RecursionError:
        return _too_deep(source, None), {}
    if tree is None:
        return ParseResult(source, None, LocationMap(), tuple(diagnostics)), {}
    builder = _Builder(source)
    try:
        raw = builder.build(tree)
    except _TooDeep as exc:
        return _too_deep(source, exc.span), {}
    except RecursionError:
        return _too_deep(source, None), {}
    if any(d.code == "AIS102" for d in builder.diagnostics):  # a number out of range
        return ParseResult(source, None, LocationMap(), tuple(builder.diagnostics)), {}
    result = ParseResult(source, raw, builder.locations, tuple(builder.diagnostics))
    return result, _attach_comments(source.text, builder.containers)


def is_bare_key(text: str) -> bool:
    """True when ``text`` can be written as a key without quotes."""
    return _NAME_RE.fullmatch(text) is not None and text not in KEYWORDS


def is_bare_value(text: str) -> bool:
    """True when ``text`` written without quotes reads back as exactly the string ``text``.

    The printer uses this to decide quoting, so ``gini``, ``10m``, ``int(2, 32)``
    and ``accuracy >= 0.9`` stay bare while ``"1"``, ``"true"`` and ``"a b"`` are quoted.
    """
    if _NAME_RE.fullmatch(text):
        return text not in KEYWORDS
    if not text or not (text[0].isascii() and (text[0].isalnum() or text[0] in "-_")):
        return False  # every bare form starts like a name or a number
    if any(c in text for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
        return False
    return _bare_parses(text)


@functools.lru_cache(maxsize=4096)
def _bare_parses(text: str) -> bool:
    source = SourceFile("<bare>", f"x = {text}")
    try:
        tree, diagnostics = _parse_tree(source.text, source.path, max_errors=1)
    except RecursionError:
        return False
    if tree is None or diagnostics:
        return False
    try:
        raw = _Builder(source).build(tree)
    except _TooDeep:
        return False
    return raw == {"x": text} and type(raw["x"]) is str


# ------------------------------------------------------------------ lexing


def _parse_tree(text: str, path: str, max_errors: int = MAX_ERRORS) -> tuple[Tree[Token] | None, list[Diagnostic]]:
    """The parse tree (None after any syntax error) and the syntax diagnostics."""
    tokens, diagnostics = _lex(text, path, max_errors)
    if len(diagnostics) >= max_errors:
        return None, diagnostics
    # A line with a bad character was blanked out from there on; whatever the
    # parser then says about that line is a consequence, not news.
    quiet_lines = {d.span.line for d in diagnostics if d.span is not None}
    tree, parse_diagnostics = _parse_tokens(tokens, path, quiet_lines, max_errors - len(diagnostics))
    diagnostics.extend(parse_diagnostics)
    if diagnostics:
        diagnostics.sort(key=Diagnostic.sort_key)
        return None, diagnostics
    return tree, diagnostics


def _lex(text: str, path: str, max_errors: int) -> tuple[list[Token], list[Diagnostic]]:
    """All tokens; a bad character is reported and the rest of its line blanked so lexing can go on."""
    diagnostics: list[Diagnostic] = []
    work = text
    tokens: list[Token] = []
    start = 0
    while True:
        try:
            # Resume where the bad character was: the tokens before it stand (relexing from the
            # start after each error made a file with many errors quadratic).
            tokens.extend(_tokens(work, start))
        except UnexpectedCharacters as exc:
            pos = exc.pos_in_stream
            assert pos is not None  # always set by the basic lexer
            diagnostics.append(_lex_error(text, pos, path))
            if len(diagnostics) >= max_errors:
                return tokens, diagnostics
            end = work.find("\n", pos)
            end = len(work) if end < 0 else end
            # Same length, same newlines: every later position stays right.
            work = work[:pos] + _blank(work[pos:end]) + work[end:]
            start = pos
            continue
        return tokens, diagnostics


def _blank(rest: str) -> str:
    """The rest of a line after a bad character, blanked except for its brackets (outside strings).

    Keeping `]` and `}` keeps the brackets balanced, so `tags = [1.2.3, 4]` is one error, not also
    "the list opened at line 5 is still open" and "unclosed block" further down.
    """
    out: list[str] = []
    in_string = escaped = False
    for c in rest:
        if in_string:
            in_string = escaped or c != '"'
            escaped = not escaped and c == "\\"
        elif c == '"':
            in_string = True
        out.append(c if c in "[]{}()" and not in_string else " ")
    return "".join(out)


_CHAR_HINTS = {
    ":": "set a value with '=': `name = value` (this is not YAML)",
    "'": 'strings use double quotes: "text"',
    ";": "separate statements with a new line or ','",
    "-": "names cannot start with '-'; negative numbers are written -1",
    ".": "a number needs digits on both sides of '.': 0.5, 1.0",
    "$": 'quote text with special characters: "${VAR}"',
    "\t": None,
}


def _lex_error(text: str, pos: int, path: str) -> Diagnostic:
    if text[pos] == '"':
        return _string_error(text, pos, path)
    ch = text[pos]
    hint = _CHAR_HINTS.get(ch, 'quote text with special characters: "like this"')
    if ch == ".":
        hint = _dotted_hint(text, pos) or hint
    message = f"unexpected character {_show_char(ch)}"
    return codes.make("AIS102", message, span=_span_at(text, pos, 1), hint=hint, file=path)


_DOTTED = re.compile(r"[0-9][0-9A-Za-z_]*(?:\.[0-9A-Za-z_]+)+")
_ATTR_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_\-.]*|\"[^\"]*\")\s*=\s*$")


def _dotted_hint(text: str, pos: int) -> str | None:
    """`version = 0.1.0` lexes as the number 0.1 and a stray '.': it is text, so say to quote it."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    for match in _DOTTED.finditer(line):
        if match.start() <= pos - line_start < match.end():
            value = match.group()
            before = _ATTR_BEFORE.search(line[: match.start()])
            quoted = f'{before.group(1)} = "{value}"' if before else f'"{value}"'
            return f"'{value}' is text, not a number: quote it, {quoted}"
    return None


def _string_error(text: str, start: int, path: str) -> Diagnostic:
    """Why the string starting at ``start`` does not lex: unterminated, bad escape or raw control character."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            m = _ESCAPE_RE.match(text, i)
            if m is None:
                shown = text[i : i + 2].rstrip("\r\n") or "\\"
                return codes.make(
                    "AIS102",
                    f"invalid escape '{shown}' in string",
                    span=_span_at(text, i, len(shown)),
                    hint='valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; write a backslash as \\\\',
                    file=path,
                )
            i = m.end()
            continue
        if c == "\n" or text.startswith("\r\n", i):
            break
        if ord(c) < 0x20:
            return codes.make(
                "AIS102",
                f"control character {_show_char(c)} in string",
                span=_span_at(text, i, 1),
                hint="write it as an escape such as \\t or \\n",
                file=path,
            )
        i += 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    return codes.make(
        "AIS102",
        "unterminated string",
        span=_span_at(text, start, max(1, len(text[start:line_end].rstrip("\r")))),
        hint='close it with \'"\' on the same line; write a line break inside a string as \\n',
        file=path,
    )


def _show_char(ch: str) -> str:
    return f"'{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


def _span_at(text: str, pos: int, length: int) -> Span:
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return Span(line, column, line, column + length, pos, pos + length)


# ------------------------------------------------------------------ parsing and recovery


class _Cursor:
    """The interactive LALR parser plus the brackets it currently has open."""

    def __init__(self, ip: InteractiveParser, opened: list[Token] | None = None) -> None:
        self.ip = ip
        self.opened: list[Token] = opened if opened is not None else []

    def copy(self) -> _Cursor:
        # Values are never mutated once built, so a shallow copy of the stacks is enough.
        ip: InteractiveParser = self.ip.copy(deepcopy_values=False)  # type: ignore[no-untyped-call]
        return _Cursor(ip, list(self.opened))

    def feed(self, token: Token) -> None:
        self.ip.feed_token(token)
        if token.type in _OPENERS:
            self.opened.append(token)
        elif token.type in _CLOSERS:
            self.opened.pop()  # the parser accepted it, so it closes the innermost bracket

    def feed_eof(self) -> Tree[Token]:
        result: Tree[Token] = self.ip.feed_token(Token("$END", ""))
        return result

    @property
    def position(self) -> Any:
        return self.ip.parser_state.position

    def accepts(self) -> frozenset[str]:
        accepts: set[str] = self.ip.accepts()  # type: ignore[no-untyped-call]
        return frozenset(accepts)


def _parse_tokens(
    tokens: Sequence[Token], path: str, quiet_lines: set[int], max_errors: int
) -> tuple[Tree[Token] | None, list[Diagnostic]]:
    cursor = _Cursor(_parser().parse_interactive(""))
    diagnostics: list[Diagnostic] = []
    last: Token | None = None  # the last token that is not a newline: errors at a newline point after it
    i = 0
    while i < len(tokens):
        token = tokens[i]
        try:
            cursor.feed(token)
        except UnexpectedToken:
            diagnostic = _describe_error(cursor, token, last, path)
            if _is_news(diagnostic, diagnostics, quiet_lines):
                diagnostics.append(diagnostic)
            if len(diagnostics) >= max_errors:
                return None, diagnostics
            resume = _recover(cursor, tokens, i)
            if resume is None:
                return None, diagnostics
            if resume > i:
                last = _last_significant(tokens, resume, last)
            i = resume
            continue
        if token.type != "_NL":
            last = token
        i += 1
    try:
        tree = cursor.feed_eof()
    except UnexpectedToken:
        diagnostic = _describe_error(cursor, Token("$END", ""), last, path)
        if _is_news(diagnostic, diagnostics, quiet_lines):
            diagnostics.append(diagnostic)
        return None, diagnostics
    return (None if diagnostics else tree), diagnostics


def _is_news(diagnostic: Diagnostic, earlier: list[Diagnostic], quiet_lines: set[int]) -> bool:
    """False for an error on a line that already has one: after the first, more on that line
    are most likely echoes of it (or of how recovery patched it)."""
    if diagnostic.span is None:
        return True
    reported = quiet_lines | {d.span.line for d in earlier if d.span is not None}
    return diagnostic.span.line not in reported


def _last_significant(tokens: Sequence[Token], end: int, default: Token | None) -> Token | None:
    for token in reversed(tokens[:end]):
        if token.type != "_NL":
            return token
    return default


_FILLERS = tuple(
    Token(kind, text)
    for kind, text in [
        ("NAME", "_"),
        ("NUMBER", "0"),
        ("_NL", "\n"),
        ("COMMA", ","),
        ("EQUAL", "="),
        ("RSQB", "]"),
        ("RPAR", ")"),
        ("RBRACE", "}"),
    ]
)
# Repairs to try, shortest first: insert nothing, one token or two tokens.
_REPAIRS: tuple[tuple[Token, ...], ...] = (
    (),
    *((a,) for a in _FILLERS),
    *((a, b) for a in _FILLERS for b in _FILLERS),
)


def _recover(cursor: _Cursor, tokens: Sequence[Token], i: int) -> int | None:
    """Repair the parser state so parsing can resume; the index to resume at, or None to stop.

    Tries inserting up to two tokens before the bad one, accepting a repair only if
    the rest of that line then parses; failing that, drops the bad token and tries
    again from the next one (panic mode).
    """
    if _replace_closer(cursor, tokens, i):
        return i + 1
    limit = min(len(tokens), i + _MAX_SKIP)
    for j in range(i, limit):
        window = _window(tokens, j)
        # Two-token repairs only where the error is: after dropping tokens, a
        # one-token repair (or none) is enough, and trying more costs time.
        for repair in _REPAIRS if j == i else _REPAIRS[: len(_FILLERS) + 1]:
            if j == i and not repair:
                continue  # already known to fail
            if _feeds_cleanly(cursor.copy(), (*repair, *window)):
                for token in repair:
                    cursor.feed(token)
                return j
    if limit < len(tokens):
        return None
    # Everything to the end was dropped: finish with whatever repair lets the file end.
    for repair in _REPAIRS:
        trial = cursor.copy()
        if _feeds_cleanly(trial, repair):
            try:
                trial.feed_eof()
            except UnexpectedToken:
                continue
            for token in repair:
                cursor.feed(token)
            return len(tokens)
    return None  # the end of the file cannot be reached: the error already reported says why


def _replace_closer(cursor: _Cursor, tokens: Sequence[Token], i: int) -> bool:
    """A wrong closing bracket (`[1, 2}`) most likely meant the one that is open: use that instead."""
    token = tokens[i]
    if token.type not in _CLOSERS or not cursor.opened:
        return False
    wanted = _OPENERS[cursor.opened[-1].type]
    if wanted == token.type:
        return False
    substitute = Token.new_borrow_pos(wanted, _BRACKET_TEXT[wanted], token)
    if not _feeds_cleanly(cursor.copy(), (substitute, *_window(tokens, i + 1))):
        return False
    cursor.feed(substitute)
    return True


def _window(tokens: Sequence[Token], j: int) -> Sequence[Token]:
    end = j
    while end < len(tokens) and end - j < _WINDOW:
        end += 1
        if tokens[end - 1].type == "_NL":
            break
    return tokens[j:end]


def _feeds_cleanly(cursor: _Cursor, tokens: Iterable[Token]) -> bool:
    try:
        for token in tokens:
            cursor.feed(token)
    except UnexpectedToken:
        return False
    return True


# ------------------------------------------------------------------ error messages

# Each label: a message and a hint.  ``{token}`` is the unexpected token,
# ``{prev}`` the token before it (as written).
_MESSAGES: dict[str, tuple[str, str | None]] = {
    "value": (
        "expected a value after '='",
        'a value is a number, "text", a name, true/false/null, [a, list] or { key = value }',
    ),
    "key_sep": (
        "expected '=' or '{' after key {prev}",
        "write `key = value`, or `key { ... }` for a block",
    ),
    "key": (
        "expected a key, found {token}",
        "each statement starts with a key: `name = value` or `name { ... }`",
    ),
    "statement_end": (
        "unexpected {token} at the end of a statement",
        "put each statement on its own line, or separate statements with ','",
    ),
    "list_sep": (
        "expected ',' or ']' after a list element, found {token}",
        "separate list elements with ','; is the closing ']' missing?",
    ),
    "list_value": (
        "expected a list element, found {token}",
        'list elements are values: [1, name, "text", { key = value }]',
    ),
    "comparison": (
        "expected a number after {prev}",
        "a comparison is written `metric >= 0.9`",
    ),
    "call_arg": (
        "expected an argument, found {token}",
        'arguments are numbers, names or strings: `int(2, 32)`, `choice(a, "b c")`',
    ),
    "call_sep": (
        "expected ',' or ')' in the argument list, found {token}",
        "separate arguments with ','; an argument list must fit on one line",
    ),
}

# Bad inputs and the label of the error each one shows (the match_examples idea).
# Matching uses the LALR state plus the set of tokens acceptable there, so an
# example written at the top level also matches the same mistake inside a block.
# Every way a value can be written, each ending in its own parser state: a
# list that ends `1]`, `1,]` or `1\n]` is three states, and each needs examples.
_VALUE_FORMS = [
    "b", "1", '"s"', "true", "false", "null", "x >= 1", "f()", "f(1)", "f(1, 2)",
    "[]", "[\n]", "[1]", "[1,]", "[1\n]", "[1,\n]", "[\n1]", "[1, 2]", "[1\n, 2]", "{}", "{ x = 1 }",
]
_BLOCK_FORMS = ["{}", "{\n}", "{ x = 1 }", "{ x = 1, }", "{\n  x = 1\n}"]

_EXAMPLES: dict[str, list[str]] = {
    "value": ["a =\n", "a = }", "a = ,", "a = =", "a = )", "a = ]", "a =", "x { a = }", "x { a =\n}", "a = >= 1"],
    "key_sep": [
        "a\n", "a b", "a }", "a ,", "a 1", "a", "a ]", "a )", "a (", "a >= 1", "a [",
        '"a"\n', '"a" b', '"a"', "true\n", "false 1", "null", "x { a }", "x { a\n}", 'x { "a" }',
    ],
    "key": ["= 1", "1 = 2", "[a] = 1", "{ a = 1 }", "x { = 1 }", "x { 1 }", "a = 1\n= 2", "a = 1, = 2", ", a = 1"],
    "statement_end": [
        *(f"a = {form} c" for form in _VALUE_FORMS),
        *(f"x {{ a = {form} c }}" for form in _VALUE_FORMS),
        *(f"a {form} b" for form in _BLOCK_FORMS),
        *(f"x {{ a {form} b }}" for form in _BLOCK_FORMS),
        "a = b {", "a = b [", "a = 1 {", "a = b = c", "a = b ,,",
    ],
    "list_sep": [
        *(f"a = [{form} c]" for form in _VALUE_FORMS),
        *(f"a = [{form}\nc]" for form in _VALUE_FORMS),
        *(f"a = [0, {form} c]" for form in _VALUE_FORMS),
        "a = [b =]", "a = [1 =]", "a = [b }", "a = [1 }", "a = [1\n}",
    ],
    "list_value": ["a = [,]", "a = [1,,]", "a = [=]", "a = [1, =]", "a = [}", "a = [1, }", "a = [\n,]", "a = [ >= 1]"],
    "comparison": ["a = x >=", "a = x >= y", "a = x >=\n", "a = [x >= ]", 'a = x >= "s"', "a = x < }"],
    "call_arg": ["a = f(,)", "a = f(1,)", "a = f([1])", "a = f({})", "a = f(\n1)", "a = f(1,\n2)", "a = f(=)"],
    "call_sep": [
        "a = f(1 2)", "a = f(x y)", "a = f(1\n)", "a = f(x >= 1)", 'a = f("s" 1)', "a = f(true 1)",
        "a = f(false 1)", "a = f(null 1)", "a = f(x\n)", 'a = f("s"\n)', "a = f(x }", "a = f(1 ]",
    ],
}


@dataclass(frozen=True, slots=True)
class _Signature:
    position: Any
    token_type: str
    accepts: frozenset[str]


def _signature(cursor: _Cursor, token: Token) -> _Signature:
    return _Signature(cursor.position, token.type, cursor.accepts())


@functools.cache
def _example_table() -> tuple[tuple[str, _Signature], ...]:
    table: list[tuple[str, _Signature]] = []
    for label, examples in _EXAMPLES.items():
        for example in examples:
            signature = example_signature(example)
            if signature is None:  # a test checks this never happens
                raise AssertionError(f"DSL error example {example!r} does not fail to parse")
            table.append((label, signature))
    return tuple(table)


def example_signature(text: str) -> _Signature | None:
    """Where parsing ``text`` first fails (for the example table and its test)."""
    cursor = _Cursor(_parser().parse_interactive(""))
    for token in _tokens(text):
        try:
            cursor.feed(token)
        except UnexpectedToken:
            return _signature(cursor, token)
    try:
        cursor.feed_eof()
    except UnexpectedToken:
        return _signature(cursor, Token("$END", ""))
    return None


def _match_label(sig: _Signature) -> str | None:
    """The best example label: same state, then same accepted tokens, then same token type."""
    table = _example_table()
    same_state = [(label, s) for label, s in table if s.position == sig.position]
    for accept in (
        lambda s: s.accepts == sig.accepts and s.token_type == sig.token_type,
        lambda s: s.accepts == sig.accepts,
        lambda s: s.token_type == sig.token_type,
        lambda s: True,
    ):
        for label, s in same_state:
            if accept(s):
                return label
    return None


def _describe_error(cursor: _Cursor, token: Token, last: Token | None, path: str) -> Diagnostic:
    sig = _signature(cursor, token)
    span = _error_span(token, last)
    label = _match_label(sig)
    # A missing value says more than a stray bracket: `a = }` needs a value first.
    bracket = None if label in ("value", "comparison") else _bracket_error(cursor, token, sig, path)
    if bracket is not None:
        return bracket
    prev = _as_written(last) if last is not None else "the start of the file"
    if label is not None:
        message, hint = _MESSAGES[label]
        return codes.make(
            "AIS102",
            _fill(message, token, prev),
            span=span,
            hint=None if hint is None else _fill(hint, token, prev),
            file=path,
        )
    expected = sorted({_EXPECTED_NAMES.get(t, t) for t in sig.accepts})
    return codes.make(
        "AIS102",
        f"unexpected {_describe(token)}",
        span=span,
        hint=f"expected {_join_or(expected)}" if expected else None,
        file=path,
    )


def _fill(template: str, token: Token, prev: str) -> str:
    # Plain replacement, not str.format: messages and hints are full of literal braces.
    return template.replace("{token}", _describe(token)).replace("{prev}", prev)


def _bracket_error(cursor: _Cursor, token: Token, sig: _Signature, path: str) -> Diagnostic | None:
    """Bracket mistakes get their own messages: an unclosed opener, or a closer with nothing to close."""
    if token.type == "$END" and cursor.opened:
        opener = cursor.opened[-1]
        closer = _BRACKET_TEXT[_OPENERS[opener.type]]
        if _OPENERS[opener.type] in sig.accepts:
            what = _OPENER_NAME[opener.type]
            return codes.make(
                "AIS102",
                f"unclosed {what}: '{opener.value}' opened at line {opener.line} is never closed",
                span=_token_span(opener),
                hint=f"add the missing '{closer}'",
                file=path,
            )
    if token.type in _CLOSERS and token.type not in sig.accepts:
        if not cursor.opened:
            return codes.make(
                "AIS102",
                f"unexpected {_describe(token)}",
                span=_token_span(token),
                hint=f"there is no open '{_BRACKET_TEXT[_opener_of(token.type)]}' for it to close",
                file=path,
            )
        opener = cursor.opened[-1]
        if _OPENERS[opener.type] != token.type and _OPENERS[opener.type] in sig.accepts:
            return codes.make(
                "AIS102",
                f"unexpected {_describe(token)}: the {_OPENER_NAME[opener.type]} opened at line {opener.line} "
                f"is still open",
                span=_token_span(token),
                hint=f"close it with '{_BRACKET_TEXT[_OPENERS[opener.type]]}' first",
                file=path,
            )
    return None


def _opener_of(closer: str) -> str:
    return next(o for o, c in _OPENERS.items() if c == closer)


_EXPECTED_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "CMP_OP": "a comparison operator",
    "_NL": "a new line",
    "$END": "the end of the file",
    "COMMA": "','",
    "EQUAL": "'='",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LPAR": "'('",
    "RPAR": "')'",
}


def _join_or(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _as_written(token: Token) -> str:
    text = str(token) if len(token) <= 30 else token[:27] + "..."
    return text if token.type == "STRING" else f"'{text}'"


def _describe(token: Token) -> str:
    if token.type == "_NL":
        return "end of line"
    if token.type == "$END":
        return "end of file"
    text = str(token)
    if len(text) > 30:
        text = text[:27] + "..."
    return f"string {text}" if token.type == "STRING" else f"'{text}'"


def _token_span(token: Token) -> Span:
    assert token.line is not None and token.column is not None
    assert token.end_line is not None and token.end_column is not None
    return Span(token.line, token.column, token.end_line, token.end_column, token.start_pos or 0, token.end_pos or 0)


def _error_span(token: Token, last: Token | None) -> Span:
    """The bad token; for an unexpected end of line or file, the point just after the last token."""
    if token.type in ("_NL", "$END"):
        if last is None:
            return Span.point(1, 1, 0)
        assert last.end_line is not None and last.end_column is not None
        return Span.point(last.end_line, last.end_column, last.end_pos or 0)
    return _token_span(token)


# ------------------------------------------------------------------ tree to RawSpec


class _TooDeep(Exception):
    def __init__(self, span: Span) -> None:
        super().__init__("nesting too deep")
        self.span = span


def _too_deep(source: SourceFile, span: Span | None) -> ParseResult:
    diagnostic = codes.make(
        "AIS109",
        f"nesting too deep: blocks and lists may nest at most {MAX_DEPTH} levels",
        span=span,
        hint="flatten the data: real specs nest fewer than 10 levels",
        file=source.path,
    )
    return ParseResult(source, None, LocationMap(), (diagnostic,))


@dataclass(slots=True)
class _Item:
    """One entry of a container, for attaching comments: where it starts and ends."""

    loc: Loc
    start: int
    end: int
    start_line: int
    end_line: int


@dataclass(slots=True)
class _Container:
    loc: Loc
    start: int
    end: int
    items: list[_Item] = field(default_factory=list)


class _Builder:
    """Turns the parse tree into plain data, recording spans as it goes."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.text = source.text
        self.locations = LocationMap()
        self.diagnostics: list[Diagnostic] = []
        self.containers: list[_Container] = []
        self._recording = True  # off while building a duplicate key's (discarded) value

    def build(self, tree: Tree[Token]) -> RawSpec:
        body = tree.children[0]
        assert isinstance(body, Tree)
        self.locations.values[()] = _whole_file(self.text)
        container = self._container((), 0, len(self.text))
        return self._mapping(body, (), 0, container)

    def _container(self, loc: Loc, start: int, end: int) -> _Container | None:
        if not self._recording:
            return None
        container = _Container(loc, start, end)
        self.containers.append(container)
        return container

    def _mapping(self, body: Tree[Token], loc: Loc, depth: int, container: _Container | None) -> dict[str, Any]:
        result: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for stmt in body.children:
            assert isinstance(stmt, Tree)
            key_tree, value_tree = stmt.children
            assert isinstance(key_tree, Tree) and isinstance(value_tree, Tree)
            key_token = key_tree.children[0]
            assert isinstance(key_token, Token)
            key = json.loads(key_token) if key_token.type == "STRING" else str(key_token)
            key_span = _token_span(key_token)
            if key in result:
                self._duplicate(key, key_span, key_lines[key], loc, value_tree, depth)
                continue
            key_lines[key] = key_span.line
            item_loc = (*loc, key)
            if self._recording:
                self.locations.keys[item_loc] = key_span
            result[key] = self._value(value_tree, item_loc, depth + 1)
            if container is not None:
                end = self.locations.values[item_loc]
                container.items.append(_Item(item_loc, key_span.offset, end.end_offset, key_span.line, end.end_line))
        return result

    def _duplicate(self, key: str, span: Span, first_line: int, loc: Loc, value: Tree[Token], depth: int) -> None:
        item_loc = (*loc, key)
        if self._recording:
            self.diagnostics.append(
                codes.make(
                    "AIS103",
                    f"duplicate key '{key}'",
                    span=span,
                    loc=item_loc,
                    hint=f"'{key}' is already set at line {first_line}; remove one of the two",
                    file=self.source.path,
                )
            )
        # Build the discarded value anyway (its own mistakes are still worth
        # reporting) without letting it overwrite the first value's locations.
        saved, self._recording = self._recording, False
        try:
            self._value(value, item_loc, depth + 1)
        finally:
            self._recording = saved

    def _value(self, node: Tree[Token], loc: Loc, depth: int) -> Any:
        span = _meta_span(node)
        if depth > MAX_DEPTH:
            raise _TooDeep(span)
        if self._recording:
            self.locations.values[loc] = span
        kind = node.data
        if kind == "object":
            body = node.children[0]
            assert isinstance(body, Tree)
            return self._mapping(body, loc, depth, self._container(loc, span.offset, span.end_offset))
        if kind == "list":
            return self._list(node, loc, depth, span)
        return self._scalar(node, loc, span)

    def _list(self, node: Tree[Token], loc: Loc, depth: int, span: Span) -> list[Any]:
        container = self._container(loc, span.offset, span.end_offset)
        items: list[Any] = []
        for index, child in enumerate(node.children):
            assert isinstance(child, Tree)
            item_loc = (*loc, index)
            items.append(self._value(child, item_loc, depth + 1))
            if container is not None:
                item_span = self.locations.values[item_loc]
                container.items.append(
                    _Item(item_loc, item_span.offset, item_span.end_offset, item_span.line, item_span.end_line)
                )
        return items

    def _scalar(self, node: Tree[Token], loc: Loc, span: Span) -> Any:
        kind = node.data
        if kind in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[str(kind)]
        if kind == "string":
            self._text_info(loc, 1)
            return json.loads(str(node.children[0]))  # the lexer only admits valid JSON strings
        if kind == "number":
            token = node.children[0]
            assert isinstance(token, Token)
            number = self._number(token, loc, span)
            if isinstance(number, str):
                self._text_info(loc, 0)
            return number
        # word, comparison, call: kept as the exact source text
        self._text_info(loc, 0)
        return self.text[span.offset : span.end_offset]

    def _number(self, token: Token, loc: Loc, span: Span) -> int | float | str:
        text = str(token)
        if not _PLAIN_NUMBER_RE.fullmatch(text):
            return text  # a quantity: 10m, 2GiB
        try:
            value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:  # more digits than int() accepts
            value = float("inf")
        if value in (float("inf"), float("-inf")):
            self.diagnostics.append(
                codes.make(
                    "AIS102",
                    f"number {_describe(token)} is out of range",
                    span=span,
                    loc=loc,
                    hint='numbers must fit a 64-bit float; quote it ("...") to keep it as text',
                    file=self.source.path,
                )
            )
        return value

    def _text_info(self, loc: Loc, offset: int) -> None:
        if self._recording:
            self.locations.scalars[loc] = ScalarInfo(offset, True)  # DSL strings never span lines


def _meta_span(node: Tree[Token]) -> Span:
    m = node.meta
    return Span(m.line, m.column, m.end_line, m.end_column, m.start_pos, m.end_pos)


def _whole_file(text: str) -> Span:
    end_line = text.count("\n") + 1
    end_column = len(text) - (text.rfind("\n") + 1) + 1
    return Span(1, 1, end_line, end_column, 0, len(text))


# ------------------------------------------------------------------ comments


def _scan_comments(text: str) -> list[Comment]:
    """Every ``#`` comment. Strings never span lines, so a per-line scan that skips strings is exact."""
    comments: list[Comment] = []
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        col = _comment_start(line)
        if col is not None:
            comments.append(Comment(offset + col, number, col, line[col:].rstrip(), not line[:col].strip()))
        offset += len(line) + 1
    return comments


def _comment_start(line: str) -> int | None:
    in_string = False
    i = 0
    while i < len(line):
        c = line[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "#":
            return i
        i += 1
    return None


def _attach_comments(text: str, containers: list[_Container]) -> Comments:
    """Each comment given to its item by the rules both syntaxes share (see ``comments.py``)."""
    shared = [
        Container(c.loc, c.start, c.end, [Item(i.loc, i.start, i.end, i.start_line, i.end_line) for i in c.items])
        for c in containers
    ]
    return attach_comments(_scan_comments(text), shared)
