"""The lexical screen: one statement, read-only words, dialect-exact quoting."""

from __future__ import annotations

import pytest

from engine.errors import ValidationFailed
from storage.connectors.sqlguard import Dialect, check_read_only, tokenize

BOTH: list[Dialect] = ["postgresql", "mysql"]


@pytest.mark.parametrize("dialect", BOTH)
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "select * from t where name = 'a;b' -- ; delete\n",
        "  (SELECT 1) UNION (SELECT 2);  ",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "SELECT 'it''s; DROP TABLE t' AS s",
        "SELECT created_at, updated_by, deleted, starts FROM t",
        "SELECT 1 /* ; DELETE FROM t */",
        "EXPLAIN SELECT * FROM t",
        "SHOW TABLES",
        "VALUES (1), (2)",
        "TABLE t",
        "SELECT CAST(x AS CHAR CHARACTER SET utf8mb4) FROM t",
    ],
)
def test_reads_pass(sql: str, dialect: Dialect) -> None:
    check_read_only(sql, dialect)


@pytest.mark.parametrize("dialect", BOTH)
@pytest.mark.parametrize(
    "sql",
    [
        "",
        "  ;  ",
        "-- only a comment",
        "SELECT 1; DELETE FROM t",
        "SELECT 1;DELETE FROM t;",
        "DELETE FROM t",
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET a = 1",
        "DROP TABLE t",
        "CREATE TABLE x (a int)",
        "TRUNCATE t",
        "SET TRANSACTION READ WRITE",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "COMMIT; DELETE FROM t",
        "COMMIT",
        "ROLLBACK",
        "BEGIN",
        "START TRANSACTION",
        "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
        "WITH c AS (SELECT 1) SELECT * FROM c; COMMIT",
        "WITH x AS (SELECT 1) SELECT 1 FROM x WHERE 1 = (SELECT 1 FROM y FOR UPDATE)",
        "SELECT * INTO copy_of_t FROM t",
        "SELECT * FROM t INTO OUTFILE '/tmp/x'",
        "SELECT pg_terminate_backend(1)",
        "SELECT PG_CANCEL_BACKEND(pid) FROM pg_stat_activity",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_read_file('/etc/passwd')",
        "SELECT set_config('statement_timeout', '0', false)",
        "SELECT dblink_exec('host=x', 'DELETE FROM t')",
        "SELECT query_to_xml('DELETE FROM t', true, true, '')",
        "SELECT lo_import('/etc/passwd')",
        "SELECT GET_LOCK('x', 10)",
        "SELECT LOAD_FILE('/etc/passwd')",
        "SELECT * FROM t FOR UPDATE",
        "SELECT * FROM t FOR SHARE",
        "SELECT * FROM t LOCK IN SHARE MODE",
        "EXPLAIN ANALYZE DELETE FROM t",
        "SELECT 'unterminated",
        "SELECT 1 /* unterminated",
        "SHOW TABLES; SHOW DATABASES",
        "CALL p()",
        "DO $$ BEGIN DELETE FROM t; END $$",
        "GRANT ALL ON t TO public",
        "LOCK TABLE t",
    ],
)
def test_non_reads_refused(sql: str, dialect: Dialect) -> None:
    with pytest.raises(ValidationFailed) as info:
        check_read_only(sql, dialect)
    assert info.value.field == "query"


@pytest.mark.parametrize(
    "sql",
    [
        # Dollar quoting hides the ';' from the splitter only when it really is a string.
        "SELECT $$ ; DELETE FROM t $$ ; DELETE FROM t",
        "SELECT $tag$ $$ ; $tag$; DELETE FROM t",
        # 1$a$ is the number 1 then a dollar quote on PostgreSQL.
        "SELECT 1$a$ x $a$; DELETE FROM t",
        # A standard string ends at the quote after the backslash (no escapes)...
        r"SELECT 'a\'; DELETE FROM t; --'",
        # ... an E'' string ends at the quote after an escaped backslash.
        r"SELECT E'a\\'; DELETE FROM t; --'",
        # Nested block comments: the ';' after both have closed is code.
        "SELECT 1 /* /* */ */ ; DELETE FROM t",
    ],
)
def test_postgresql_lexing_edges_refused(sql: str) -> None:
    with pytest.raises(ValidationFailed):
        check_read_only(sql, "postgresql")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT $$ ; DELETE FROM t $$",
        "SELECT $tag$ it's $$ ; $tag$ AS body",
        "SELECT 'a\\' AS backslash_is_literal_here",
        # E'' string: the backslash escapes the quote, so all of it is one string.
        r"SELECT E'\'; DELETE FROM t; --'",
        # Nested block comments: the first */ does not end the comment.
        "SELECT 1 /* /* */ ; DELETE FROM t */",
        "SELECT a$b$ FROM t",
        'SELECT "weird""; DELETE" FROM t',
        "SELECT 2 # 3",
    ],
)
def test_postgresql_lexing_edges_pass(sql: str) -> None:
    check_read_only(sql, "postgresql")


@pytest.mark.parametrize(
    "sql",
    [
        # In MySQL '\\' is an escaped backslash: the next quote ends the string.
        r"SELECT 'a\\'; DELETE FROM t; -- '",
        # ... and "--" needs whitespace to be a comment: "1--1" is arithmetic.
        "SELECT 1--1\n; DELETE FROM t",
        "SELECT 1 # comment ; \n; DELETE FROM t",
        # Executable comments run on MySQL: refused outright.
        "SELECT 1 /*! ; DELETE FROM t */",
        "SELECT 1 /*!50000 , SLEEP(1) */",
        "SELECT 1 /*M! , 2 */",
        "SELECT /*+ MAX_EXECUTION_TIME(0) */ 1",
        '"SELECT 1"',
        r'SELECT "a\\"; DELETE FROM t; -- "',
    ],
)
def test_mysql_lexing_edges_refused(sql: str) -> None:
    with pytest.raises(ValidationFailed):
        check_read_only(sql, "mysql")


@pytest.mark.parametrize(
    "sql",
    [
        # In MySQL \' escapes the quote: all of this is one string.
        r"SELECT 'a\'; DELETE FROM t; -- ' AS s",
        'SELECT "a\\"; DELETE FROM t; -- " AS s',
        "SELECT 1 # ; DELETE FROM t",
        "SELECT 1 -- ; DELETE FROM t",
        "SELECT `odd``; DELETE` FROM t",
        'SELECT "a string; DELETE" AS s',
        "SELECT 1 /* ; DELETE FROM t */",
    ],
)
def test_mysql_lexing_edges_pass(sql: str) -> None:
    check_read_only(sql, "mysql")


def test_first_keyword_is_returned() -> None:
    assert check_read_only("  explain select 1", "postgresql") == "EXPLAIN"
    assert check_read_only("describe t", "mysql") == "DESCRIBE"


def test_describe_is_mysql_only() -> None:
    with pytest.raises(ValidationFailed):
        check_read_only("DESCRIBE t", "postgresql")


def test_tokens_keep_strings_opaque() -> None:
    kinds = [(t.kind, t.text) for t in tokenize("SELECT 'a;b', $$x$$, \"c\"", "postgresql")]
    assert kinds == [
        ("word", "SELECT"),
        ("string", "'a;b'"),
        ("punct", ","),
        ("string", "$$x$$"),
        ("punct", ","),
        ("ident", '"c"'),
    ]
