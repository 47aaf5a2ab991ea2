//! One connection over either engine (issue 24): the store's files write each query
//! once, in the SQL the two dialects share, with SQLite's `?N` placeholders (rewritten
//! to PostgreSQL's `$N` here), and read rows through one [`Row`]. Where the dialects
//! differ, a store file matches on [`Conn`] and keeps both texts side by side.
//!
//! Values: one parameter type ([`Param`] -> [`Value`]: NULL, integer, text, bytes) and
//! one column reader ([`FromCol`]). Integers bind to PostgreSQL's BIGINT, INTEGER or
//! SMALLINT columns alike and `bool` is 0 or 1, as in SQLite; reading, an integer
//! column of any width gives any Rust integer type (checked), and a PostgreSQL `bool`
//! (`EXISTS`) reads as 0 or 1.
//!
//! Transactions: [`Conn::begin`] returns a guard that rolls back unless committed.
//! Prepared statements are cached per connection on both engines. Imports rusqlite
//! and postgres only.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql as PgToSql, Type, to_sql_checked};

/// The open connection: SQLite (the embedded default) or PostgreSQL.
pub(crate) enum Conn {
    /// An SQLite file.
    Lite(rusqlite::Connection),
    /// A PostgreSQL database, with its prepared statements by SQL text.
    Pg(Box<RefCell<PgConn>>),
}

/// A PostgreSQL client and its statement cache.
pub(crate) struct PgConn {
    pub(crate) client: postgres::Client,
    stmts: HashMap<String, postgres::Statement>,
}

impl PgConn {
    pub(crate) fn new(client: postgres::Client) -> PgConn {
        PgConn { client, stmts: HashMap::new() }
    }

    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let st = self.client.prepare(&pg_sql(sql))?;
        self.stmts.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

/// An error of either engine, or a value of the wrong type or NULL where none may be.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite's.
    #[error(transparent)]
    Lite(#[from] rusqlite::Error),
    /// PostgreSQL's (the server's message, or the driver's).
    #[error(transparent)]
    Pg(#[from] postgres::Error),
    /// A column whose value Rust cannot take (e.g. NULL into a `String`).
    #[error("{0}")]
    Value(String),
    /// [`Conn::query_row`] found no row.
    #[error("the query returned no row")]
    NoRow,
}

/// A result of the layer.
pub(crate) type SqlResult<T> = Result<T, DbError>;

/// `.optional()`: "no row" as `None`, as rusqlite's `OptionalExtension`.
pub(crate) trait Optional<T> {
    /// `Ok(None)` for [`DbError::NoRow`] (or SQLite's `QueryReturnedNoRows`).
    fn optional(self) -> SqlResult<Option<T>>;
}

impl<T> Optional<T> for SqlResult<T> {
    fn optional(self) -> SqlResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRow | DbError::Lite(rusqlite::Error::QueryReturnedNoRows)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A parameter value, as both engines bind it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// NULL.
    Null,
    /// An integer (SQLite INTEGER; PostgreSQL BIGINT, INTEGER, SMALLINT or BOOLEAN).
    Int(i64),
    /// Text.
    Text(&'a str),
    /// Bytes (SQLite BLOB; PostgreSQL BYTEA).
    Blob(&'a [u8]),
}

/// What a query may take as a parameter ([`params!`](crate::store::sql::params)).
pub(crate) trait Param {
    /// The value to bind.
    fn value(&self) -> Value<'_>;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn value(&self) -> Value<'_> {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_param!(i64, i32, u32, u16, u8, i16, usize, u64);

impl Param for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}
impl Param for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl Param for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl Param for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl Param for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}
impl<T: Param> Param for Option<T> {
    fn value(&self) -> Value<'_> {
        match self {
            Some(v) => v.value(),
            None => Value::Null,
        }
    }
}
impl Param for Value<'_> {
    fn value(&self) -> Value<'_> {
        *self
    }
}

/// `params![a, b, …]`: the parameters `?1, ?2, …` of a query, any [`Param`]s.
macro_rules! params {
    () => { &[] as &[&dyn $crate::store::sql::Param] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::store::sql::Param),+] as &[&dyn $crate::store::sql::Param] };
}
pub(crate) use params;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(i),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl PgToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("integer {i} for a {ty} parameter").into()),
            },
            Value::Text(s) => s.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column's value read whatever its type (`quotad migrate-state` copies rows so).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OwnedValue {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text (an SQLite REAL, which the store never writes, as its text).
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Param for OwnedValue {
    fn value(&self) -> Value<'_> {
        match self {
            OwnedValue::Null => Value::Null,
            OwnedValue::Int(i) => Value::Int(*i),
            OwnedValue::Text(s) => Value::Text(s),
            OwnedValue::Blob(b) => Value::Blob(b),
        }
    }
}

/// One result row of either engine.
pub(crate) enum Row<'a> {
    /// SQLite's.
    Lite(&'a rusqlite::Row<'a>),
    /// PostgreSQL's.
    Pg(&'a postgres::Row),
}

/// A column index (0-based), as rusqlite's `get::<_, T>(i)` takes.
pub(crate) trait ColIndex {
    /// The index.
    fn index(self) -> usize;
}
impl ColIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row<'_> {
    /// Column `i` (0-based) as text borrowed from the row (no copy on SQLite), `None`
    /// for NULL.
    pub(crate) fn text(&self, i: usize) -> SqlResult<Option<&str>> {
        match self {
            Row::Lite(r) => r.get_ref(i)?.as_str_or_null().map_err(|e| DbError::Value(format!("column {i}: {e}"))),
            Row::Pg(r) => Ok(r.try_get::<_, Option<&str>>(i)?),
        }
    }

    /// Column `i` (0-based) whatever its type.
    pub(crate) fn value(&self, i: usize) -> SqlResult<OwnedValue> {
        match self {
            Row::Lite(r) => {
                use rusqlite::types::ValueRef;
                Ok(match r.get_ref(i)? {
                    ValueRef::Null => OwnedValue::Null,
                    ValueRef::Integer(n) => OwnedValue::Int(n),
                    ValueRef::Real(x) => OwnedValue::Text(x.to_string()),
                    ValueRef::Text(t) => OwnedValue::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => OwnedValue::Blob(b.to_vec()),
                })
            }
            Row::Pg(r) => {
                let ty = r.columns()[i].type_().clone();
                Ok(match ty {
                    Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map_or(OwnedValue::Null, OwnedValue::Blob),
                    Type::INT2 | Type::INT4 | Type::INT8 | Type::BOOL => {
                        pg_int(r, i)?.map_or(OwnedValue::Null, OwnedValue::Int)
                    }
                    _ => r.try_get::<_, Option<String>>(i)?.map_or(OwnedValue::Null, OwnedValue::Text),
                })
            }
        }
    }

    /// Column `i` (0-based) as `T`.
    pub(crate) fn get<I: ColIndex, T: FromCol>(&self, i: I) -> Result<T, DbError> {
        let i = i.index();
        match self {
            Row::Lite(r) => T::from_lite(r, i),
            Row::Pg(r) => T::from_pg(r, i),
        }
    }
}

/// A Rust value a column can be read into (see the module's note on integers).
pub(crate) trait FromCol: Sized {
    /// From an SQLite row.
    fn from_lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError>;
    /// From a PostgreSQL row.
    fn from_pg(r: &postgres::Row, i: usize) -> Result<Self, DbError>;
}

/// A possibly NULL column, the primitive that [`FromCol`] builds on.
pub(crate) trait FromColOpt: Sized {
    /// From an SQLite row.
    fn opt_lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Option<Self>, DbError>;
    /// From a PostgreSQL row.
    fn opt_pg(r: &postgres::Row, i: usize) -> Result<Option<Self>, DbError>;
}

impl<T: FromColOpt> FromCol for Option<T> {
    fn from_lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
        T::opt_lite(r, i)
    }
    fn from_pg(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
        T::opt_pg(r, i)
    }
}

fn null_at(i: usize) -> DbError {
    DbError::Value(format!("column {i} is NULL"))
}

macro_rules! from_col_via_opt {
    ($($t:ty),*) => {$(
        impl FromCol for $t {
            fn from_lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Self, DbError> {
                <$t as FromColOpt>::opt_lite(r, i)?.ok_or_else(|| null_at(i))
            }
            fn from_pg(r: &postgres::Row, i: usize) -> Result<Self, DbError> {
                <$t as FromColOpt>::opt_pg(r, i)?.ok_or_else(|| null_at(i))
            }
        }
    )*};
}

/// An integer column of any width (or a `bool`, as 0 or 1) of a PostgreSQL row.
fn pg_int(r: &postgres::Row, i: usize) -> Result<Option<i64>, DbError> {
    let ty = r.columns().get(i).map(|c| c.type_().clone()).ok_or_else(|| DbError::Value(format!("no column {i}")))?;
    Ok(match ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(i)?,
        Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(i64::from),
        Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(i64::from),
        Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(i64::from),
        other => return Err(DbError::Value(format!("column {i} is {other}, not an integer (CAST it AS BIGINT)"))),
    })
}

macro_rules! int_col {
    ($($t:ty),*) => {$(
        impl FromColOpt for $t {
            fn opt_lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Option<Self>, DbError> {
                r.get::<_, Option<i64>>(i)?
                    .map(|v| <$t>::try_from(v).map_err(|_| DbError::Value(format!("column {i}: {v} out of range"))))
                    .transpose()
            }
            fn opt_pg(r: &postgres::Row, i: usize) -> Result<Option<Self>, DbError> {
                pg_int(r, i)?
                    .map(|v| <$t>::try_from(v).map_err(|_| DbError::Value(format!("column {i}: {v} out of range"))))
                    .transpose()
            }
        }
        from_col_via_opt!($t);
    )*};
}
int_col!(i64, i32, u32, u64, usize, u16, u8, i16);

impl FromColOpt for bool {
    fn opt_lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Option<Self>, DbError> {
        Ok(r.get::<_, Option<bool>>(i)?)
    }
    fn opt_pg(r: &postgres::Row, i: usize) -> Result<Option<Self>, DbError> {
        Ok(pg_int(r, i)?.map(|v| v != 0))
    }
}

impl FromColOpt for String {
    fn opt_lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Option<Self>, DbError> {
        Ok(r.get::<_, Option<String>>(i)?)
    }
    fn opt_pg(r: &postgres::Row, i: usize) -> Result<Option<Self>, DbError> {
        Ok(r.try_get::<_, Option<String>>(i)?)
    }
}

impl FromColOpt for Vec<u8> {
    fn opt_lite(r: &rusqlite::Row<'_>, i: usize) -> Result<Option<Self>, DbError> {
        Ok(r.get::<_, Option<Vec<u8>>>(i)?)
    }
    fn opt_pg(r: &postgres::Row, i: usize) -> Result<Option<Self>, DbError> {
        Ok(r.try_get::<_, Option<Vec<u8>>>(i)?)
    }
}
from_col_via_opt!(bool, String, Vec<u8>);

/// SQLite's `?N` (and bare `?`, numbered in order) as PostgreSQL's `$N`; quoted text
/// and identifiers are left alone.
pub(crate) fn pg_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    out.push_str(&next.to_string());
                    next += 1;
                } else {
                    out.push_str(&digits);
                }
            }
            (None, c) => out.push(c),
        }
    }
    out
}

/// An SQLite statement of the deals import and the sums (`temp.` staging tables,
/// `IS` for "equal or both NULL", `INSERT OR IGNORE`, `SUM` of integers) in
/// PostgreSQL's words: `pg_temp.`, `IS NOT DISTINCT FROM`, `ON CONFLICT DO NOTHING`,
/// `SUM` cast back to BIGINT (PostgreSQL sums BIGINTs as NUMERIC).
pub(crate) fn pg_dialect(sql: &str) -> String {
    let mut s = sql.replace("temp.", "pg_temp.").replace("main.", "").replace(" IS s.", " IS NOT DISTINCT FROM s.");
    if let Some(rest) = s.trim_start().strip_prefix("INSERT OR IGNORE INTO") {
        s = format!("INSERT INTO{rest} ON CONFLICT DO NOTHING");
    }
    s.replace("SUM(n)", "CAST(SUM(n) AS BIGINT)")
}

fn pg_values<'a>(p: &'a [&'a dyn Param]) -> Vec<Value<'a>> {
    p.iter().map(|v| v.value()).collect()
}

fn pg_refs<'a>(v: &'a [Value<'a>]) -> Vec<&'a (dyn PgToSql + Sync)> {
    v.iter().map(|x| x as &(dyn PgToSql + Sync)).collect()
}

impl Conn {
    /// The SQLite connection, if this is one (for a tuned SQLite path beside the
    /// shared one).
    pub(crate) fn lite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Lite(c) => Some(c),
            Conn::Pg(_) => None,
        }
    }

    /// Whether this is PostgreSQL.
    pub(crate) fn is_pg(&self) -> bool {
        matches!(self, Conn::Pg(_))
    }

    /// Runs one statement; returns the rows it changed.
    pub(crate) fn execute(&self, sql: &str, p: &[&dyn Param]) -> Result<usize, DbError> {
        match self {
            Conn::Lite(c) => {
                let vals: Vec<Value<'_>> = p.iter().map(|v| v.value()).collect();
                Ok(c.prepare_cached(sql)?.execute(rusqlite::params_from_iter(vals.iter()))?)
            }
            Conn::Pg(c) => {
                let mut c = c.borrow_mut();
                let st = c.prepare(sql)?;
                let vals = pg_values(p);
                Ok(c.client.execute(&st, &pg_refs(&vals))? as usize)
            }
        }
    }

    /// Runs statements separated by `;`, without parameters (and, on PostgreSQL,
    /// without placeholder rewriting).
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match self {
            Conn::Lite(c) => Ok(c.execute_batch(sql)?),
            Conn::Pg(c) => Ok(c.borrow_mut().client.batch_execute(sql)?),
        }
    }

    /// Every row of a query, each through `f`, in order.
    #[cfg(test)]
    pub(crate) fn query_map<T>(
        &self,
        sql: &str,
        p: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let mut out = Vec::new();
        self.for_each(sql, p, |r| {
            out.push(f(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f` with each row of a query in turn, one in memory at a time. `f` must
    /// not use this connection.
    pub(crate) fn for_each(
        &self,
        sql: &str,
        p: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<(), DbError>,
    ) -> Result<(), DbError> {
        match self {
            Conn::Lite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let vals: Vec<Value<'_>> = p.iter().map(|v| v.value()).collect();
                let mut rows = st.query(rusqlite::params_from_iter(vals.iter()))?;
                while let Some(r) = rows.next()? {
                    f(&Row::Lite(r))?;
                }
                Ok(())
            }
            Conn::Pg(c) => {
                use postgres::fallible_iterator::FallibleIterator as _;
                let mut c = c.borrow_mut();
                let st = c.prepare(sql)?;
                let vals = pg_values(p);
                let mut rows = c.client.query_raw(&st, pg_refs(&vals))?;
                while let Some(r) = rows.next()? {
                    f(&Row::Pg(&r))?;
                }
                Ok(())
            }
        }
    }

    /// [`Conn::for_each`] with `f` failing in the caller's error type `E` (`wrap`
    /// turns the engine's errors into it): the first failure stops the query.
    pub(crate) fn try_for_each<E>(
        &self,
        sql: &str,
        p: &[&dyn Param],
        wrap: impl Fn(DbError) -> E,
        mut f: impl FnMut(&Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut failed = None;
        let done = self.for_each(sql, p, |r| {
            f(r).map_err(|e| {
                failed = Some(e);
                DbError::NoRow
            })
        });
        match (done, failed) {
            (_, Some(e)) => Err(e),
            (r, None) => r.map_err(wrap),
        }
    }

    /// The first row of a query through `f`, `None` when there is none.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        p: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        match self {
            Conn::Lite(c) => {
                let mut st = c.prepare_cached(sql)?;
                let vals: Vec<Value<'_>> = p.iter().map(|v| v.value()).collect();
                let mut rows = st.query(rusqlite::params_from_iter(vals.iter()))?;
                match rows.next()? {
                    Some(r) => f(&Row::Lite(r)).map(Some),
                    None => Ok(None),
                }
            }
            Conn::Pg(c) => {
                let mut c = c.borrow_mut();
                let st = c.prepare(sql)?;
                let vals = pg_values(p);
                let rows = c.client.query(&st, &pg_refs(&vals))?;
                match rows.first() {
                    Some(r) => f(&Row::Pg(r)).map(Some),
                    None => Ok(None),
                }
            }
        }
    }

    /// The first row of a query through `f`; no row is an error (a query that always
    /// gives one: `COUNT`, `MAX`, `EXISTS`).
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        p: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, p, f)?.ok_or(DbError::NoRow)
    }

    /// A statement to run (rusqlite's shape: `prepare`, then `query_map` or
    /// `execute`); both engines cache the prepared statement.
    pub(crate) fn prepare(&self, sql: &str) -> SqlResult<Stmt<'_>> {
        Ok(Stmt { conn: self, sql: sql.to_string() })
    }

    /// [`Conn::prepare`] (every statement is cached).
    pub(crate) fn prepare_cached(&self, sql: &str) -> SqlResult<Stmt<'_>> {
        self.prepare(sql)
    }

    /// Begins a transaction: `BEGIN IMMEDIATE` on SQLite when `write_lock` (the write
    /// lock taken now, not at the first write), `BEGIN` otherwise.
    pub(crate) fn begin(&self, write_lock: bool) -> Result<Tx<'_>, DbError> {
        match self {
            Conn::Lite(_) => self.execute_batch(if write_lock { "BEGIN IMMEDIATE" } else { "BEGIN DEFERRED" })?,
            Conn::Pg(_) => self.execute_batch("BEGIN")?,
        }
        Ok(Tx { conn: self, done: false })
    }
}

/// A prepared statement of [`Conn::prepare`].
pub(crate) struct Stmt<'a> {
    conn: &'a Conn,
    sql: String,
}

impl Stmt<'_> {
    /// Every row through `f`, read now; an iterator of the results, as rusqlite's.
    pub(crate) fn query_map<T>(
        &mut self,
        p: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> SqlResult<T>,
    ) -> SqlResult<std::vec::IntoIter<SqlResult<T>>> {
        let mut out = Vec::new();
        self.conn.for_each(&self.sql, p, |r| {
            out.push(f(r));
            Ok(())
        })?;
        Ok(out.into_iter())
    }

    /// The first row through `f`; no row is [`DbError::NoRow`].
    pub(crate) fn query_row<T>(&mut self, p: &[&dyn Param], f: impl FnOnce(&Row<'_>) -> SqlResult<T>) -> SqlResult<T> {
        self.conn.query_row(&self.sql, p, f)
    }

    /// [`Conn::try_for_each`] on this statement.
    pub(crate) fn try_for_each<E>(
        &mut self,
        p: &[&dyn Param],
        wrap: impl Fn(DbError) -> E,
        f: impl FnMut(&Row<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.conn.try_for_each(&self.sql, p, wrap, f)
    }

    /// Runs it; returns the rows changed.
    pub(crate) fn execute(&mut self, p: &[&dyn Param]) -> SqlResult<usize> {
        self.conn.execute(&self.sql, p)
    }
}

/// An open transaction: rolled back when dropped uncommitted. Derefs to the
/// connection, for its statements.
pub(crate) struct Tx<'a> {
    conn: &'a Conn,
    done: bool,
}

impl Tx<'_> {
    /// Commits.
    pub(crate) fn commit(mut self) -> Result<(), DbError> {
        self.done = true;
        self.conn.execute_batch("COMMIT")
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(pg_sql("SELECT a FROM t WHERE b = ?2 AND c = ?1"), "SELECT a FROM t WHERE b = $2 AND c = $1");
        assert_eq!(pg_sql("INSERT INTO t VALUES (?, ?, '?', \"a?\")"), "INSERT INTO t VALUES ($1, $2, '?', \"a?\")");
        assert_eq!(pg_sql("SELECT 'it''s ?1' || ?10"), "SELECT 'it''s ?1' || $10");
    }

    /// The same statements on both engines read back the same values.
    #[test]
    fn both_engines_bind_and_read_the_same_values() {
        let Some(db) = super::super::pg::test_db::TestDb::fresh() else { return };
        let pg = Conn::Pg(Box::new(RefCell::new(PgConn::new(super::super::pg::connect(&db.url).unwrap()))));
        let lite = Conn::Lite(rusqlite::Connection::open_in_memory().unwrap());
        lite.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, b BLOB)").unwrap();
        pg.execute_batch(
            "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT, s TEXT COLLATE \"C\", b BYTEA)",
        )
        .unwrap();
        for c in [&lite, &pg] {
            let tx = c.begin(true).unwrap();
            let id: i64 = tx
                .query_row(
                    "INSERT INTO t (n, s, b) VALUES (?1, ?2, ?3) RETURNING id",
                    params![7u32, "Zoë", vec![0u8, 1]],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(id, 1);
            tx.execute("INSERT INTO t (n, s, b) VALUES (?1, ?2, ?3)", params![true, None::<String>, b"x".to_vec()])
                .unwrap();
            tx.execute("INSERT INTO t (n, s, b) VALUES (?, ?, ?)", params![-3i64, "a", Vec::<u8>::new()]).unwrap();
            tx.commit().unwrap();
            {
                let tx = c.begin(false).unwrap();
                tx.execute("DELETE FROM t", params![]).unwrap();
                // dropped: rolled back
            }
            let rows = c
                .query_map("SELECT n, s, b FROM t ORDER BY id", params![], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, Vec<u8>>(2)?))
                })
                .unwrap();
            assert_eq!(
                rows,
                vec![(7, Some("Zoë".into()), vec![0, 1]), (1, None, b"x".to_vec()), (-3, Some("a".into()), vec![])]
            );
            // Binary order, as SQLite's: "Z" (0x5A) before "a" (0x61).
            let order =
                c.query_map("SELECT s FROM t WHERE s IS NOT NULL ORDER BY s", params![], |r| r.get::<_, String>(0));
            assert_eq!(order.unwrap(), ["Zoë", "a"]);
            let any: bool =
                c.query_row("SELECT EXISTS (SELECT 1 FROM t WHERE n = ?1)", params![7], |r| r.get(0)).unwrap();
            assert!(any);
            let n: u32 = c.query_row("SELECT COUNT(*) FROM t", params![], |r| r.get(0)).unwrap();
            assert_eq!(n, 3);
            assert_eq!(
                c.query_opt("SELECT s FROM t WHERE n = 99", params![], |r| r.get::<_, String>(0)).unwrap(),
                None
            );
            let e = c.query_row("SELECT s FROM t WHERE n = 1", params![], |r| r.get::<_, String>(0)).unwrap_err();
            assert_eq!(e.to_string(), "column 0 is NULL");
        }
    }
}
