"""Lexical screen for user SQL: one statement, read-only by its words.

This is the first of two locks. The second, and the one that really holds, is
the database: every query runs inside a read-only transaction that is always
rolled back (see `postgresql.py`, `mysql.py`). The screen exists so that the
obvious attempts fail early with a clear message, and to close the gaps a
read-only transaction leaves open: functions with side effects outside the
transaction (`pg_terminate_backend`, advisory locks, file reads), statements
that end the transaction (`COMMIT`, `SET TRANSACTION READ WRITE`) and, on
MySQL, DDL, which commits implicitly.

The lexer follows each dialect's own rules for where strings, quoted
identifiers and comments start and end, because a disagreement there is how
stacked statements get smuggled past a screen (text the screen thinks is a
string the server runs as code). Constructs whose meaning depends on server
settings are pinned by the connector (`standard_conforming_strings=on` on
PostgreSQL, no `ANSI_QUOTES`/`NO_BACKSLASH_ESCAPES` on MySQL), and MySQL's
executable comments (`/*! ... */`, `/*M! ... */`) and hints (`/*+ ... */`)
are refused outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from engine.errors import ValidationFailed

Dialect = Literal["postgresql", "mysql"]

FIELD = "query"

ALLOWED_FIRST: dict[Dialect, frozenset[str]] = {
    "postgresql": frozenset({"SELECT", "WITH", "SHOW", "EXPLAIN", "VALUES", "TABLE"}),
    "mysql": frozenset(
        {"SELECT", "WITH", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE"}
    ),
}

# Words that never belong in a read: writes inside a CTE or behind EXPLAIN,
# SELECT ... INTO (creates a table / writes a file / sets variables), row locks,
# and transaction control that would end the read-only transaction.
FORBIDDEN_WORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "TRUNCATE", "DROP", "CREATE",
        "ALTER", "GRANT", "REVOKE", "INTO", "OUTFILE", "DUMPFILE", "COMMIT", "ROLLBACK",
        "SAVEPOINT", "BEGIN", "ABORT", "EXECUTE", "PREPARE", "DEALLOCATE", "DECLARE",
        "CALL", "COPY",
    }
)  # fmt: skip

# Functions whose effect escapes the rollback (signals, locks held by the
# session, files, replication, config) or that run SQL from a string, which
# would hide it from this screen.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        # PostgreSQL
        "PG_TERMINATE_BACKEND", "PG_CANCEL_BACKEND", "PG_RELOAD_CONF", "PG_ROTATE_LOGFILE",
        "SET_CONFIG", "PG_NOTIFY", "PG_LOGICAL_EMIT_MESSAGE", "PG_SWITCH_WAL",
        "PG_CREATE_RESTORE_POINT", "PG_PROMOTE", "PG_START_BACKUP", "PG_STOP_BACKUP",
        "PG_BACKUP_START", "PG_BACKUP_STOP", "PG_WAL_REPLAY_PAUSE", "PG_WAL_REPLAY_RESUME",
        "PG_IMPORT_SYSTEM_COLLATIONS", "QUERY_TO_XML", "QUERY_TO_XMLSCHEMA",
        "QUERY_TO_XML_AND_XMLSCHEMA", "CURSOR_TO_XML", "CURSOR_TO_XMLSCHEMA", "NEXTVAL",
        "SETVAL", "LOWRITE", "TXID_CURRENT", "PG_CURRENT_XACT_ID",
        # MySQL / MariaDB
        "GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS", "LOAD_FILE", "SYS_EXEC", "SYS_EVAL",
    }
)  # fmt: skip
FORBIDDEN_PREFIXES = (
    "DBLINK",
    "PG_ADVISORY",
    "PG_TRY_ADVISORY",
    "PG_REPLICATION_ORIGIN",
    "PG_STAT_RESET",
    "PG_LS_",
    "PG_READ_",
    "PG_FILE_",
    "PG_CREATE_",
    "PG_DROP_",
    "LO_",
)

# Two-word forms: each word alone is a plausible column name, together they are not.
FORBIDDEN_PAIRS = frozenset(
    {
        ("START", "TRANSACTION"),
        ("LOCK", "IN"),  # MySQL LOCK IN SHARE MODE
        ("FOR", "SHARE"),
        ("LOAD", "DATA"),
        ("LOAD", "XML"),
    }
)

_WORD = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
# Numbers stop at the first letter: on PostgreSQL `1$a$` is the number 1 and
# then a dollar quote, and splitting `1into` into `1` + `into` only ever makes
# the screen see more words than the server does, which is the safe direction.
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_PARAM = re.compile(r"\$[0-9]+")


@dataclass(frozen=True, slots=True)
class Token:
    kind: Literal["word", "number", "string", "ident", "param", "punct"]
    text: str


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, field=FIELD)


def tokenize(sql: str, dialect: Dialect) -> list[Token]:
    """Split `sql` into tokens; comments are dropped, quoted text is opaque."""
    tokens: list[Token] = []
    i, n = 0, len(sql)
    mysql = dialect == "mysql"
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i) and (not mysql or _mysql_dash_comment(sql, i)):
            i = _line_end(sql, i)
        elif mysql and ch == "#":
            i = _line_end(sql, i)
        elif sql.startswith("/*", i):
            i = _block_comment_end(sql, i, mysql)
        elif ch == "'":
            end = _quoted_end(sql, i, "'", backslash=mysql)
            tokens.append(Token("string", sql[i:end]))
            i = end
        elif ch == '"':
            # PostgreSQL: a quoted identifier. MySQL (ANSI_QUOTES pinned off): a string.
            end = _quoted_end(sql, i, '"', backslash=mysql)
            tokens.append(Token("string" if mysql else "ident", sql[i:end]))
            i = end
        elif ch == "`" and mysql:
            end = _quoted_end(sql, i, "`", backslash=False)
            tokens.append(Token("ident", sql[i:end]))
            i = end
        elif ch == "$" and not mysql and (m := _DOLLAR_TAG.match(sql, i)):
            close = sql.find(m.group(0), m.end())
            if close < 0:
                raise _refuse("unterminated dollar-quoted string")
            end = close + len(m.group(0))
            tokens.append(Token("string", sql[i:end]))
            i = end
        elif ch == "$" and not mysql and (m := _PARAM.match(sql, i)):
            tokens.append(Token("param", m.group(0)))
            i = m.end()
        elif m := _NUMBER.match(sql, i):
            tokens.append(Token("number", m.group(0)))
            i = m.end()
        elif m := _WORD.match(sql, i):
            word = m.group(0)
            i = m.end()
            if not mysql and word in ("e", "E") and sql.startswith("'", i):
                # PostgreSQL E'...' escape string: backslash escapes the quote.
                end = _quoted_end(sql, i, "'", backslash=True)
                tokens.append(Token("string", sql[m.start() : end]))
                i = end
            else:
                tokens.append(Token("word", word))
        else:
            tokens.append(Token("punct", ch))
            i += 1
    return tokens


RegionKind = Literal["code", "string", "escape_string", "dollar", "ident", "comment"]


@dataclass(frozen=True, slots=True)
class Region:
    """A stretch of SQL text: code, or one quoted string / identifier / comment."""

    kind: RegionKind
    start: int
    end: int
    """Exclusive."""


def regions(sql: str, dialect: Dialect) -> list[Region]:
    """Split `sql` into code and quoted/comment regions by the same rules as `tokenize`.

    Placeholder binding uses it to tell a `{...}` in value position from one
    inside a string, a quoted identifier or a comment. `string` is a plain
    `'...'` (MySQL also `"..."`), `escape_string` PostgreSQL's `E'...'`,
    `dollar` a PostgreSQL dollar-quoted string.
    """
    out: list[Region] = []
    code_start = 0
    i, n = 0, len(sql)
    mysql = dialect == "mysql"

    def quoted(kind: RegionKind, start: int, end: int) -> int:
        nonlocal code_start
        if start > code_start:
            out.append(Region("code", code_start, start))
        out.append(Region(kind, start, end))
        code_start = end
        return end

    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i) and (not mysql or _mysql_dash_comment(sql, i)):
            i = quoted("comment", i, _line_end(sql, i))
        elif mysql and ch == "#":
            i = quoted("comment", i, _line_end(sql, i))
        elif sql.startswith("/*", i):
            i = quoted("comment", i, _block_comment_end(sql, i, mysql))
        elif ch == "'":
            i = quoted("string", i, _quoted_end(sql, i, "'", backslash=mysql))
        elif ch == '"':
            end = _quoted_end(sql, i, '"', backslash=mysql)
            i = quoted("string" if mysql else "ident", i, end)
        elif ch == "`" and mysql:
            i = quoted("ident", i, _quoted_end(sql, i, "`", backslash=False))
        elif ch == "$" and not mysql and (m := _DOLLAR_TAG.match(sql, i)):
            close = sql.find(m.group(0), m.end())
            if close < 0:
                raise _refuse("unterminated dollar-quoted string")
            i = quoted("dollar", i, close + len(m.group(0)))
        elif ch == "$" and not mysql and (m := _PARAM.match(sql, i)):
            i = m.end()
        elif m := _NUMBER.match(sql, i):
            i = m.end()
        elif m := _WORD.match(sql, i):
            i = m.end()
            if not mysql and m.group(0) in ("e", "E") and sql.startswith("'", i):
                i = quoted("escape_string", m.start(), _quoted_end(sql, i, "'", backslash=True))
        else:
            i += 1
    if n > code_start:
        out.append(Region("code", code_start, n))
    return out


def _mysql_dash_comment(sql: str, i: int) -> bool:
    # MySQL only starts a comment at "--" followed by whitespace or a control
    # character (or the end); "1--1" is arithmetic.
    nxt = i + 2
    return nxt >= len(sql) or sql[nxt].isspace() or ord(sql[nxt]) < 32


def _line_end(sql: str, i: int) -> int:
    end = sql.find("\n", i)
    return len(sql) if end < 0 else end + 1


def _block_comment_end(sql: str, i: int, mysql: bool) -> int:
    if mysql:
        opener = sql[i + 2 : i + 4]
        if opener.startswith(("!", "+")) or opener.upper() == "M!":
            raise _refuse("MySQL executable comments and optimizer hints are not allowed")
        end = sql.find("*/", i + 2)
        if end < 0:
            raise _refuse("unterminated /* comment")
        return end + 2
    # PostgreSQL block comments nest.
    depth, j = 1, i + 2
    while depth:
        nxt_open, nxt_close = sql.find("/*", j), sql.find("*/", j)
        if nxt_close < 0:
            raise _refuse("unterminated /* comment")
        if 0 <= nxt_open < nxt_close:
            depth, j = depth + 1, nxt_open + 2
        else:
            depth, j = depth - 1, nxt_close + 2
    return j


def _quoted_end(sql: str, i: int, quote: str, *, backslash: bool) -> int:
    """Index just past the closing quote of the quoted text starting at `i`."""
    j, n = i + 1, len(sql)
    while j < n:
        ch = sql[j]
        if backslash and ch == "\\":
            j += 2
        elif ch == quote:
            if j + 1 < n and sql[j + 1] == quote:  # doubled quote = literal quote
                j += 2
            else:
                return j + 1
        else:
            j += 1
    raise _refuse("unterminated quoted string or identifier")


def split_statements(tokens: list[Token]) -> list[list[Token]]:
    """Non-empty statements separated by top-level `;` (quotes were already opaque)."""
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind == "punct" and token.text == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def check_read_only(sql: str, dialect: Dialect) -> str:
    """Refuse (ValidationFailed, field "query") anything but one read-only statement.

    Returns the first keyword in upper case (the connector picks how to fetch by it).
    """
    if not sql.strip():
        raise _refuse("the query is empty")
    statements = split_statements(tokenize(sql, dialect))
    if not statements:
        raise _refuse("the query is empty")
    if len(statements) > 1:
        raise _refuse("only one SQL statement is allowed per query")
    tokens = statements[0]
    first = next((t for t in tokens if not (t.kind == "punct" and t.text == "(")), None)
    if first is None or first.kind != "word" or first.text.upper() not in ALLOWED_FIRST[dialect]:
        allowed = ", ".join(sorted(ALLOWED_FIRST[dialect]))
        raise _refuse(f"only read-only queries are allowed (a statement starting with {allowed})")
    previous = ""
    for token in tokens:
        if token.kind != "word":
            previous = ""
            continue
        word = token.text.upper()
        if word in FORBIDDEN_WORDS:
            raise _refuse(f"{word} is not allowed in a read-only query")
        if word in FORBIDDEN_FUNCTIONS or word.startswith(FORBIDDEN_PREFIXES):
            raise _refuse(f"function {token.text} is not allowed in a read-only query")
        # SET is harmless only as MySQL's CHARACTER SET (in CAST/CONVERT).
        if word == "SET" and previous != "CHARACTER":
            raise _refuse("SET is not allowed in a read-only query")
        if (previous, word) in FORBIDDEN_PAIRS:
            raise _refuse(f"{previous} {word} is not allowed in a read-only query")
        previous = word
    return first.text.upper()
