//! The TraceQL lexer: turns query text into positioned tokens.
//!
//! Positions are 1-based line and column (in characters), as in Tempo's messages
//! (`parse error at line 1, col 27: ...`). Attribute paths (`.a.b`, `span.x`, `resource."x y"`)
//! and scoped intrinsics (`span:name`, `trace:rootService`) are single tokens; durations
//! (`1.5s`, `1h30m`) are read to integer nanoseconds. Not here: grammar (see `parser`).

use super::ast::{is_plain_attr_char, AttrScope, FieldRef, Intrinsic};
use super::ParseError;

/// A position in the query text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Pipe,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `=~`
    Match,
    /// `!~`
    NotMatch,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `!`
    Not,
    /// `>>`
    Descendant,
    /// `<<`
    Ancestor,
    /// `~`
    Tilde,
    /// `+ - * / % ^` and structural forms spanlens does not support (`!>`, `&>`, ...):
    /// kept as text so the parser can name them in its error.
    Other(String),
    /// A bare word: keyword, intrinsic, enum value or function name.
    Ident(String),
    /// An attribute or scoped intrinsic.
    Field(FieldRef),
    Str(String),
    Int(i64),
    Float(f64),
    /// Integer nanoseconds.
    Duration(i64),
    End,
}

impl Tok {
    /// How Tempo names the token in `syntax error: unexpected ...`.
    pub fn describe(&self) -> String {
        match self {
            Tok::LBrace => "{".into(),
            Tok::RBrace => "}".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Pipe => "|".into(),
            Tok::Eq => "=".into(),
            Tok::Ne => "!=".into(),
            Tok::Gt => ">".into(),
            Tok::Ge => ">=".into(),
            Tok::Lt => "<".into(),
            Tok::Le => "<=".into(),
            Tok::Match => "=~".into(),
            Tok::NotMatch => "!~".into(),
            Tok::And => "&&".into(),
            Tok::Or => "||".into(),
            Tok::Not => "!".into(),
            Tok::Descendant => ">>".into(),
            Tok::Ancestor => "<<".into(),
            Tok::Tilde => "~".into(),
            Tok::Other(s) => s.clone(),
            Tok::Ident(_) | Tok::Field(_) => "IDENTIFIER".into(),
            Tok::Str(_) => "STRING".into(),
            Tok::Int(_) => "INTEGER".into(),
            Tok::Float(_) => "FLOAT".into(),
            Tok::Duration(_) => "DURATION".into(),
            Tok::End => "$end".into(),
        }
    }
}

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

/// Splits a query into tokens (the last one is [`Tok::End`]).
pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    loop {
        lx.skip_space();
        let pos = lx.pos();
        let Some(c) = lx.peek(0) else {
            out.push(Token { tok: Tok::End, pos });
            return Ok(out);
        };
        let tok = lx.token(c, pos)?;
        out.push(Token { tok, pos });
    }
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
}

fn err(pos: Pos, message: impl Into<String>) -> ParseError {
    ParseError {
        line: pos.line,
        col: pos.col,
        message: message.into(),
    }
}

impl Lexer {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek(0) {
            if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    /// Consumes `n` characters and returns `tok`.
    fn take(&mut self, n: usize, tok: Tok) -> Tok {
        for _ in 0..n {
            self.bump();
        }
        tok
    }

    fn token(&mut self, c: char, pos: Pos) -> Result<Tok, ParseError> {
        let next = self.peek(1);
        Ok(match c {
            '{' => self.take(1, Tok::LBrace),
            '}' => self.take(1, Tok::RBrace),
            '(' => self.take(1, Tok::LParen),
            ')' => self.take(1, Tok::RParen),
            ',' => self.take(1, Tok::Comma),
            '=' => match next {
                Some('~') => self.take(2, Tok::Match),
                Some('=') => self.take(2, Tok::Other("==".into())),
                _ => self.take(1, Tok::Eq),
            },
            '!' => match next {
                Some('=') => self.take(2, Tok::Ne),
                Some('~') => self.take(2, Tok::NotMatch),
                Some('>') if self.peek(2) == Some('>') => self.take(3, Tok::Other("!>>".into())),
                Some('>') => self.take(2, Tok::Other("!>".into())),
                Some('<') if self.peek(2) == Some('<') => self.take(3, Tok::Other("!<<".into())),
                Some('<') => self.take(2, Tok::Other("!<".into())),
                _ => self.take(1, Tok::Not),
            },
            '>' => match next {
                Some('=') => self.take(2, Tok::Ge),
                Some('>') => self.take(2, Tok::Descendant),
                _ => self.take(1, Tok::Gt),
            },
            '<' => match next {
                Some('=') => self.take(2, Tok::Le),
                Some('<') => self.take(2, Tok::Ancestor),
                _ => self.take(1, Tok::Lt),
            },
            '~' => self.take(1, Tok::Tilde),
            '&' => match next {
                Some('&') => self.take(2, Tok::And),
                Some('>') if self.peek(2) == Some('>') => self.take(3, Tok::Other("&>>".into())),
                Some('>') => self.take(2, Tok::Other("&>".into())),
                Some('<') if self.peek(2) == Some('<') => self.take(3, Tok::Other("&<<".into())),
                Some('<') => self.take(2, Tok::Other("&<".into())),
                Some('~') => self.take(2, Tok::Other("&~".into())),
                _ => self.take(1, Tok::Other("&".into())),
            },
            '|' => match next {
                Some('|') => self.take(2, Tok::Or),
                _ => self.take(1, Tok::Pipe),
            },
            '+' | '-' | '*' | '/' | '%' | '^' => self.take(1, Tok::Other(c.to_string())),
            '"' | '`' => Tok::Str(self.string(pos)?),
            '.' => match next {
                Some(d) if d.is_ascii_digit() && !self.dot_is_attribute() => self.number(pos)?,
                _ => {
                    self.bump();
                    self.attribute(AttrScope::Any, pos)?
                }
            },
            c if c.is_ascii_digit() => self.number(pos)?,
            c if c.is_alphabetic() || c == '_' => self.word(pos)?,
            other => {
                self.bump();
                return Err(err(pos, format!("syntax error: unexpected character {other:?}")));
            }
        })
    }

    /// At a `.` followed by a digit: true when the run continues as an attribute name
    /// (`.5xx`), false for a number (`.95`).
    fn dot_is_attribute(&self) -> bool {
        let mut j = self.i + 1;
        while self.chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        self.chars
            .get(j)
            .is_some_and(|&c| c != '.' && is_plain_attr_char(c) && !is_duration_unit_start(c))
            || (self.chars.get(j) == Some(&'.') && self.chars.get(j + 1).is_some_and(|c| c.is_alphabetic()))
    }

    fn string(&mut self, pos: Pos) -> Result<String, ParseError> {
        let quote = self.bump().unwrap_or('"');
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(err(pos, "syntax error: unterminated string"));
            };
            if c == quote {
                return Ok(out);
            }
            if c != '\\' || quote == '`' {
                out.push(c);
                continue;
            }
            let esc_pos = self.pos();
            let Some(e) = self.bump() else {
                return Err(err(pos, "syntax error: unterminated string"));
            };
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '0' => out.push('\0'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                '`' => out.push('`'),
                'u' => {
                    let mut code = 0u32;
                    for _ in 0..4 {
                        let d = self.bump().and_then(|h| h.to_digit(16));
                        match d {
                            Some(d) => code = code * 16 + d,
                            None => return Err(err(esc_pos, "syntax error: invalid \\u escape in string")),
                        }
                    }
                    match char::from_u32(code) {
                        Some(ch) => out.push(ch),
                        None => return Err(err(esc_pos, "syntax error: invalid \\u escape in string")),
                    }
                }
                // Keep unknown escapes as written so regex escapes (`\d`, `\.`) survive.
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    /// Integer, float or duration.
    fn number(&mut self, pos: Pos) -> Result<Tok, ParseError> {
        let mut total: i128 = 0;
        let mut is_duration = false;
        loop {
            // One <number><unit> group (or a plain number).
            let num_start = self.i;
            while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            let mut is_float = false;
            if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                self.bump();
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
            let mut exp = false;
            if !is_duration
                && matches!(self.peek(0), Some('e' | 'E'))
                && (self.peek(1).is_some_and(|c| c.is_ascii_digit())
                    || (matches!(self.peek(1), Some('+' | '-'))
                        && self.peek(2).is_some_and(|c| c.is_ascii_digit())))
            {
                exp = true;
                self.bump();
                self.bump();
                while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
            let text: String = self.chars.get(num_start..self.i).unwrap_or(&[]).iter().collect();
            let unit = if exp { None } else { self.duration_unit() };
            match unit {
                Some((len, nanos_per)) => {
                    for _ in 0..len {
                        self.bump();
                    }
                    is_duration = true;
                    let value: f64 = text
                        .parse()
                        .map_err(|_| err(pos, format!("syntax error: invalid duration {text:?}")))?;
                    let nanos = (value * nanos_per as f64).round();
                    if !nanos.is_finite() || nanos > i64::MAX as f64 {
                        return Err(err(pos, "syntax error: duration out of range"));
                    }
                    total += nanos as i128;
                    if total > i64::MAX as i128 {
                        return Err(err(pos, "syntax error: duration out of range"));
                    }
                    // Go-style compound durations: `1h30m`.
                    if self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                        continue;
                    }
                    break;
                }
                None if is_duration => {
                    return Err(err(pos, "syntax error: missing unit in duration"));
                }
                None => {
                    if self.peek(0).is_some_and(|c| c.is_alphabetic() || c == '_') {
                        let mut bad = text.clone();
                        while let Some(c) = self.peek(0).filter(|c| c.is_alphanumeric() || *c == '_') {
                            bad.push(c);
                            self.bump();
                        }
                        return Err(err(
                            pos,
                            format!("syntax error: invalid number or duration {bad:?}"),
                        ));
                    }
                    if is_float || exp {
                        return text
                            .parse::<f64>()
                            .map(Tok::Float)
                            .map_err(|_| err(pos, format!("syntax error: invalid number {text:?}")));
                    }
                    return text
                        .parse::<i64>()
                        .map(Tok::Int)
                        .map_err(|_| err(pos, format!("syntax error: integer out of range {text:?}")));
                }
            }
        }
        Ok(Tok::Duration(total as i64))
    }

    /// A duration unit at the cursor: (characters, nanoseconds per unit).
    fn duration_unit(&self) -> Option<(usize, i64)> {
        let a = self.peek(0)?;
        let b = self.peek(1);
        let ends = |n: usize| {
            self.peek(n)
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_') || c.is_ascii_digit())
        };
        let (len, nanos) = match (a, b) {
            ('n', Some('s')) => (2, 1),
            ('u' | 'µ' | 'μ', Some('s')) => (2, 1_000),
            ('m', Some('s')) => (2, 1_000_000),
            ('s', _) => (1, 1_000_000_000),
            ('m', _) => (1, 60_000_000_000),
            ('h', _) => (1, 3_600_000_000_000),
            _ => return None,
        };
        if ends(len) {
            Some((len, nanos))
        } else {
            None
        }
    }

    /// An attribute name after its scope prefix and dot: plain characters or a quoted string.
    fn attribute(&mut self, scope: AttrScope, pos: Pos) -> Result<Tok, ParseError> {
        let name = if matches!(self.peek(0), Some('"' | '`')) {
            let p = self.pos();
            self.string(p)?
        } else {
            let mut name = String::new();
            while let Some(c) = self.peek(0).filter(|&c| is_plain_attr_char(c)) {
                name.push(c);
                self.bump();
            }
            name
        };
        if name.is_empty() {
            return Err(err(pos, "syntax error: empty attribute name"));
        }
        Ok(Tok::Field(FieldRef::Attr { scope, name }))
    }

    fn word(&mut self, pos: Pos) -> Result<Tok, ParseError> {
        let mut word = String::new();
        while let Some(c) = self.peek(0).filter(|&c| c.is_alphanumeric() || c == '_') {
            word.push(c);
            self.bump();
        }
        match self.peek(0) {
            Some('.') => {
                let scope = match word.as_str() {
                    "span" => AttrScope::Span,
                    "resource" => AttrScope::Resource,
                    "event" | "link" | "instrumentation" | "parent" => {
                        return Err(err(pos, format!("unsupported: the {word} attribute scope")));
                    }
                    _ => return Err(err(pos, format!("unknown identifier: {word}"))),
                };
                self.bump();
                self.attribute(scope, pos)
            }
            Some(':') => {
                self.bump();
                let mut name = String::new();
                while let Some(c) = self.peek(0).filter(|&c| c.is_alphanumeric() || c == '_') {
                    name.push(c);
                    self.bump();
                }
                let intrinsic = match (word.as_str(), name.as_str()) {
                    ("span", "name") => Intrinsic::Name,
                    ("span", "status") => Intrinsic::Status,
                    ("span", "statusMessage") => Intrinsic::StatusMessage,
                    ("span", "kind") => Intrinsic::Kind,
                    ("span", "duration") => Intrinsic::Duration,
                    ("trace", "rootName") => Intrinsic::RootName,
                    ("trace", "rootService") => Intrinsic::RootServiceName,
                    ("trace", "duration") => Intrinsic::TraceDuration,
                    _ => {
                        return Err(err(pos, format!("unsupported: intrinsic {word}:{name}")));
                    }
                };
                Ok(Tok::Field(FieldRef::Intrinsic(intrinsic)))
            }
            _ => Ok(Tok::Ident(word)),
        }
    }
}

fn is_duration_unit_start(c: char) -> bool {
    matches!(c, 'n' | 'u' | 'µ' | 'μ' | 'm' | 's' | 'h')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn durations_numbers_and_fields() {
        assert_eq!(toks("1.5s")[0], Tok::Duration(1_500_000_000));
        assert_eq!(toks("1h30m")[0], Tok::Duration(5_400_000_000_000));
        assert_eq!(toks("250µs")[0], Tok::Duration(250_000));
        assert_eq!(toks("3us")[0], Tok::Duration(3_000));
        assert_eq!(toks("7ns")[0], Tok::Duration(7));
        assert_eq!(toks("2m")[0], Tok::Duration(120_000_000_000));
        assert_eq!(toks(".95")[0], Tok::Float(0.95));
        assert_eq!(toks("42")[0], Tok::Int(42));
        assert_eq!(toks("1e3")[0], Tok::Float(1000.0));
        assert_eq!(
            toks(".5xx")[0],
            Tok::Field(FieldRef::Attr {
                scope: AttrScope::Any,
                name: "5xx".into()
            })
        );
        assert_eq!(
            toks("resource.\"a b\"")[0],
            Tok::Field(FieldRef::Attr {
                scope: AttrScope::Resource,
                name: "a b".into()
            })
        );
        assert_eq!(
            toks("trace:rootService")[0],
            Tok::Field(FieldRef::Intrinsic(Intrinsic::RootServiceName))
        );
        assert_eq!(toks("\"a\\\"b\\n\"")[0], Tok::Str("a\"b\n".into()));
        assert_eq!(toks("`a\\d`")[0], Tok::Str("a\\d".into()));
        assert!(tokenize("99999999999h").is_err());
        assert!(tokenize("1s5").is_err());
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let t = tokenize("{\n  .a = #1 }").unwrap_err();
        assert_eq!((t.line, t.col), (2, 8));
        let t = tokenize("{ .a = 1 }").unwrap();
        assert_eq!(t[1].pos, Pos { line: 1, col: 3 });
        assert_eq!(t.last().unwrap().pos, Pos { line: 1, col: 11 });
    }
}
