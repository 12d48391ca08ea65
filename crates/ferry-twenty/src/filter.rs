//! Twenty's REST filter and order syntax (`field[comparator]:value`, `and(…)`, `or(…)`, `order_by=f[Dir]`).

use std::fmt;

use uuid::Uuid;

/// A REST `filter` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter(String);

impl Filter {
    fn cmp(field: &str, op: &str, value: impl fmt::Display) -> Filter {
        Filter(format!("{field}[{op}]:{value}"))
    }

    /// `field[eq]:value`. Composite sub-fields use dots (`emails.primaryEmail`).
    pub fn eq(field: &str, value: impl fmt::Display) -> Filter {
        Filter::cmp(field, "eq", value)
    }

    /// `field[neq]:value`.
    pub fn neq(field: &str, value: impl fmt::Display) -> Filter {
        Filter::cmp(field, "neq", value)
    }

    /// `field[gt]:value`.
    pub fn gt(field: &str, value: impl fmt::Display) -> Filter {
        Filter::cmp(field, "gt", value)
    }

    /// `field[gte]:value`.
    pub fn gte(field: &str, value: impl fmt::Display) -> Filter {
        Filter::cmp(field, "gte", value)
    }

    /// `field[lt]:value`.
    pub fn lt(field: &str, value: impl fmt::Display) -> Filter {
        Filter::cmp(field, "lt", value)
    }

    /// `field[lte]:value`.
    pub fn lte(field: &str, value: impl fmt::Display) -> Filter {
        Filter::cmp(field, "lte", value)
    }

    /// `field[like]:pattern` (`%` wildcards). Use this for prefixes: the recorded server's `startsWith` appends
    /// no `%` and behaves like `eq` (exchange 44).
    pub fn like(field: &str, pattern: impl fmt::Display) -> Filter {
        Filter::cmp(field, "like", pattern)
    }

    /// `field[in]:["a","b"]` with JSON-quoted values (exchange 41).
    pub fn is_in<I, T>(field: &str, values: I) -> Filter
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let list: Vec<String> =
            values.into_iter().map(|v| serde_json::Value::String(v.as_ref().to_owned()).to_string()).collect();
        Filter(format!("{field}[in]:[{}]", list.join(",")))
    }

    /// `id[in]:[…]` for a set of ids.
    pub fn ids(ids: &[Uuid]) -> Filter {
        Filter::is_in("id", ids.iter().map(Uuid::to_string))
    }

    /// `field[is]:NULL`.
    pub fn is_null(field: &str) -> Filter {
        Filter(format!("{field}[is]:NULL"))
    }

    /// `field[is]:NOT_NULL`. `deletedAt[is]:NOT_NULL` lists soft-deleted rows (exchange 65).
    pub fn not_null(field: &str) -> Filter {
        Filter(format!("{field}[is]:NOT_NULL"))
    }

    /// `and(a,b,…)`.
    pub fn and(parts: impl IntoIterator<Item = Filter>) -> Filter {
        Filter(format!("and({})", parts.into_iter().map(|f| f.0).collect::<Vec<_>>().join(",")))
    }

    /// `or(a,b,…)`.
    pub fn or(parts: impl IntoIterator<Item = Filter>) -> Filter {
        Filter(format!("or({})", parts.into_iter().map(|f| f.0).collect::<Vec<_>>().join(",")))
    }

    /// A filter written by hand in Twenty's syntax.
    pub fn raw(expr: impl Into<String>) -> Filter {
        Filter(expr.into())
    }

    /// The expression as sent in `?filter=`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Direction {
    AscNullsFirst,
    AscNullsLast,
    DescNullsFirst,
    DescNullsLast,
}

/// One `order_by` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// Field (dots for sub-fields).
    pub field: String,
    /// Direction.
    pub direction: Direction,
}

impl OrderBy {
    /// Ascending, nulls first (Twenty's default).
    pub fn asc(field: &str) -> OrderBy {
        OrderBy { field: field.to_owned(), direction: Direction::AscNullsFirst }
    }

    /// Descending, nulls last.
    pub fn desc(field: &str) -> OrderBy {
        OrderBy { field: field.to_owned(), direction: Direction::DescNullsLast }
    }

    pub(crate) fn render(terms: &[OrderBy]) -> String {
        terms.iter().map(|t| format!("{}[{:?}]", t.field, t.direction)).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_the_recordings() {
        assert_eq!(Filter::eq("name", "CTR-Acme").as_str(), "name[eq]:CTR-Acme");
        let a = Uuid::parse_str("68c5be7a-a510-414f-97ff-515faa109747").unwrap();
        assert_eq!(Filter::ids(&[a]).as_str(), "id[in]:[\"68c5be7a-a510-414f-97ff-515faa109747\"]");
        assert_eq!(
            Filter::and([Filter::like("name", "CTR-Bulk%"), Filter::gte("employees", 550)]).as_str(),
            "and(name[like]:CTR-Bulk%,employees[gte]:550)"
        );
        assert_eq!(Filter::not_null("deletedAt").as_str(), "deletedAt[is]:NOT_NULL");
        assert_eq!(
            OrderBy::render(&[OrderBy::desc("employees"), OrderBy::asc("name")]),
            "employees[DescNullsLast],name[AscNullsFirst]"
        );
    }
}
