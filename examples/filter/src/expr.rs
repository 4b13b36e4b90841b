//! The filter's expression language: comparisons of fields with literals,
//! joined with `&&`, `||` and `!`, grouped with parentheses.
//!
//!     comm == "sleep" && duration_ns > 1000000
//!     !(exit_event) || exit_code != 0
//!
//! Written here rather than taken from a crate: general expression crates
//! (evalexpr and the like) accept assignments and function calls, and take
//! `a == 1 &&` without complaint, where a filter wants a small language
//! that names the column of every mistake.

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A literal a field is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i128),
    Str(String),
    Bool(bool),
}

/// A parsed expression; fields are still names.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `field op literal`; a bare boolean field is `field == true`.
    Compare {
        field: String,
        column: usize,
        op: Op,
        value: Literal,
    },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A parse error, at a column (1-based) of the expression.
#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl ParseError {
    /// The error with the expression and a caret under the column.
    pub fn show(&self, source: &str) -> String {
        format!(
            "filter: {} at column {}\n  {source}\n  {}^",
            self.message,
            self.column,
            " ".repeat(self.column - 1)
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Int(i128),
    Str(String),
    Op(Op),
    And,
    Or,
    Not,
    Open,
    Close,
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ident(name) => write!(f, "`{name}`"),
            Self::Int(n) => write!(f, "`{n}`"),
            Self::Str(s) => write!(f, "{s:?}"),
            Self::Op(op) => write!(f, "`{}`", op.symbol()),
            Self::And => f.write_str("`&&`"),
            Self::Or => f.write_str("`||`"),
            Self::Not => f.write_str("`!`"),
            Self::Open => f.write_str("`(`"),
            Self::Close => f.write_str("`)`"),
            Self::End => f.write_str("the end"),
        }
    }
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }
}

fn error<T>(column: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        column,
        message: message.into(),
    })
}

/// The tokens of `source`, each with its 1-based column.
fn tokens(source: &str) -> Result<Vec<(Token, usize)>, ParseError> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let column = i + 1;
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, len) = match (c, next) {
            _ if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('&', Some('&')) => (Token::And, 2),
            ('|', Some('|')) => (Token::Or, 2),
            ('=', Some('=')) => (Token::Op(Op::Eq), 2),
            ('!', Some('=')) => (Token::Op(Op::Ne), 2),
            ('<', Some('=')) => (Token::Op(Op::Le), 2),
            ('>', Some('=')) => (Token::Op(Op::Ge), 2),
            ('<', _) => (Token::Op(Op::Lt), 1),
            ('>', _) => (Token::Op(Op::Gt), 1),
            ('!', _) => (Token::Not, 1),
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            ('=', _) => return error(column, "`=` is not an operator (compare with `==`)"),
            ('&' | '|', _) => {
                return error(
                    column,
                    format!("`{c}` alone is not an operator (use `{c}{c}`)"),
                )
            }
            ('"', _) => {
                let mut text = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return error(column, "this string is not closed"),
                        Some('"') => break,
                        Some('\\') => match chars.get(j + 1) {
                            Some(&e @ ('"' | '\\')) => {
                                text.push(e);
                                j += 1;
                            }
                            _ => return error(j + 1, "only `\\\"` and `\\\\` are escapes"),
                        },
                        Some(&ch) => text.push(ch),
                    }
                    j += 1;
                }
                (Token::Str(text), j + 1 - i)
            }
            _ if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let len = chars[i + 1..]
                    .iter()
                    .take_while(|ch| ch.is_ascii_alphanumeric() || **ch == '_')
                    .count()
                    + 1;
                let text: String = chars[i..i + len].iter().filter(|ch| **ch != '_').collect();
                let (negative, digits) = match text.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, text.as_str()),
                };
                let parsed = match digits.strip_prefix("0x") {
                    Some(hex) => i128::from_str_radix(hex, 16),
                    None => digits.parse::<i128>(),
                };
                match parsed {
                    Ok(n) if n <= i128::from(u64::MAX) => {
                        (Token::Int(if negative { -n } else { n }), len)
                    }
                    _ => return error(column, format!("`{text}` is not a 64-bit integer")),
                }
            }
            _ if c.is_alphabetic() || c == '_' => {
                let len = chars[i..]
                    .iter()
                    .take_while(|ch| ch.is_alphanumeric() || **ch == '_' || **ch == '.')
                    .count();
                (Token::Ident(chars[i..i + len].iter().collect()), len)
            }
            _ => return error(column, format!("unexpected character `{c}`")),
        };
        out.push((token, column));
        i += len;
    }
    out.push((Token::End, chars.len() + 1));
    Ok(out)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &(Token, usize) {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> (Token, usize) {
        let token = self.peek().clone();
        self.at += 1;
        token
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.peek().0 == Token::Or {
            self.next();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.peek().0 == Token::And {
            self.next();
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        match self.next() {
            (Token::Not, _) => Ok(Expr::Not(Box::new(self.unary()?))),
            (Token::Open, column) => {
                let inner = self.or()?;
                match self.next() {
                    (Token::Close, _) => Ok(inner),
                    (other, at) => error(
                        at,
                        format!("expected `)` to close the `(` at column {column}, found {other}"),
                    ),
                }
            }
            (Token::Ident(field), column) => self.comparison(field, column),
            (other, column) => error(
                column,
                format!("expected a field name, `!` or `(`, found {other}"),
            ),
        }
    }

    fn comparison(&mut self, field: String, column: usize) -> Result<Expr, ParseError> {
        let op = match self.peek().0 {
            Token::Op(op) => op,
            // A bare field: a boolean's truth.
            Token::And | Token::Or | Token::Close | Token::End => {
                return Ok(Expr::Compare {
                    field,
                    column,
                    op: Op::Eq,
                    value: Literal::Bool(true),
                })
            }
            ref other => {
                return error(
                    self.peek().1,
                    format!("expected a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`) after `{field}`, found {other}"),
                )
            }
        };
        self.next();
        let value = match self.next() {
            (Token::Int(n), _) => Literal::Int(n),
            (Token::Str(s), _) => Literal::Str(s),
            (Token::Ident(word), _) if word == "true" || word == "false" => {
                Literal::Bool(word == "true")
            }
            (other, at) => {
                return error(
                    at,
                    format!(
                    "expected a number, a \"string\", `true` or `false` after `{}`, found {other}",
                    op.symbol()
                ),
                )
            }
        };
        Ok(Expr::Compare {
            field,
            column,
            op,
            value,
        })
    }
}

/// Parses a whole expression.
pub fn parse(source: &str) -> Result<Expr, ParseError> {
    let mut parser = Parser {
        tokens: tokens(source)?,
        at: 0,
    };
    let expr = parser.or()?;
    match parser.next() {
        (Token::End, _) => Ok(expr),
        (other, column) => error(
            column,
            format!("expected `&&`, `||` or the end, found {other}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, column: usize, op: Op, value: Literal) -> Expr {
        Expr::Compare {
            field: field.into(),
            column,
            op,
            value,
        }
    }

    #[test]
    fn parses_the_issue_example() {
        assert_eq!(
            parse(r#"comm == "sleep" && duration_ns > 1000000"#),
            Ok(Expr::And(
                Box::new(cmp("comm", 1, Op::Eq, Literal::Str("sleep".into()))),
                Box::new(cmp("duration_ns", 20, Op::Gt, Literal::Int(1_000_000))),
            ))
        );
    }

    #[test]
    fn and_binds_tighter_than_or_and_parentheses_group() {
        let e = parse("a == 1 || b == 2 && !(c >= -3)").unwrap();
        assert_eq!(
            e,
            Expr::Or(
                Box::new(cmp("a", 1, Op::Eq, Literal::Int(1))),
                Box::new(Expr::And(
                    Box::new(cmp("b", 11, Op::Eq, Literal::Int(2))),
                    Box::new(Expr::Not(Box::new(cmp("c", 23, Op::Ge, Literal::Int(-3))))),
                )),
            )
        );
        assert_eq!(
            parse("exit_event && in.a != 0x10"),
            Ok(Expr::And(
                Box::new(cmp("exit_event", 1, Op::Eq, Literal::Bool(true))),
                Box::new(cmp("in.a", 15, Op::Ne, Literal::Int(16))),
            ))
        );
        assert_eq!(
            parse(r#"s == "a \"q\"""#),
            Ok(cmp("s", 1, Op::Eq, Literal::Str("a \"q\"".into())))
        );
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            ("comm = \"sleep\"", 6, "`=` is not an operator"),
            ("comm == \"sleep\" &&", 19, "expected a field name"),
            ("(pid == 1", 10, "expected `)` to close the `(` at column 1"),
            ("pid == ", 8, "expected a number"),
            ("pid 1", 5, "expected a comparison"),
            ("pid == 1 pid", 10, "expected `&&`, `||` or the end"),
            ("comm == \"sleep", 9, "not closed"),
            ("pid == 99999999999999999999999", 8, "not a 64-bit integer"),
            ("pid & 1", 5, "`&` alone"),
            ("pid == 1 # x", 10, "unexpected character `#`"),
        ];
        for (source, column, words) in cases {
            let e = parse(source).unwrap_err();
            assert_eq!(e.column, column, "{source}: {e:?}");
            assert!(e.message.contains(words), "{source}: {e:?}");
            assert!(e
                .show(source)
                .contains(&format!("\n  {}^", " ".repeat(column - 1))));
        }
    }
}
