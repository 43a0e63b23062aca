//! A small regular-expression engine for TraceQL's `=~` and `!~`.
//!
//! Matches are fully anchored and `.` matches any character including a newline: Tempo runs
//! `^(?s:pattern)$`. Supported syntax: literals, `.`, classes `[a-z_]` / `[^...]`, escapes
//! `\d \w \s \D \W \S` and escaped punctuation, anchors `^ $`, groups `( )` / `(?: )`,
//! alternation `|`, quantifiers `* + ? {n} {n,} {n,m}` (lazy `?` suffix accepted; it does not
//! change a yes/no match), and flags `(?i)` / `(?i:...)` (also `s`, `m`, `U`, accepted and
//! without effect on a whole-value yes/no match, and `-` to clear). Not here: back-references,
//! look-around, word boundaries, named captures (rejected with an error).
//!
//! Matching simulates the compiled NFA over all states at once (no backtracking), so time is
//! linear in the input for a given pattern; pattern size is capped.

use serde::{Serialize, Serializer};

/// Largest compiled program accepted (bounds `x{1000}{1000}`).
const MAX_PROGRAM: usize = 20_000;
/// Deepest group nesting accepted.
const MAX_DEPTH: usize = 200;

/// A compiled pattern.
#[derive(Clone, Debug)]
pub struct Regex {
    pattern: String,
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

impl PartialEq for Regex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Serialize for Regex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.pattern)
    }
}

/// Why a pattern was rejected: a message and the character offset in the pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegexError {
    pub offset: usize,
    pub message: String,
}

#[derive(Clone, Debug)]
enum Inst {
    Char(char),
    /// A character compared ignoring case.
    CharCi(char),
    Any,
    Class(usize),
    Split(usize, usize),
    Jmp(usize),
    AssertStart,
    AssertEnd,
    Match,
}

#[derive(Clone, Debug, Default)]
struct Class {
    negated: bool,
    /// Compare ignoring case.
    ci: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char) -> bool {
        let ci = self.ci;
        let hit = |x: char| self.ranges.iter().any(|&(a, b)| a <= x && x <= b);
        let mut found = hit(c);
        if !found && ci {
            found = c.to_lowercase().any(hit) || c.to_uppercase().any(hit);
        }
        found != self.negated
    }
}

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Char(char),
    CharCi(char),
    Any,
    Class(Class),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

impl Regex {
    /// Compiles a pattern.
    pub fn new(pattern: &str) -> Result<Regex, RegexError> {
        let mut p = Parser {
            chars: pattern.chars().collect(),
            i: 0,
            depth: 0,
            ci: false,
        };
        let node = p.alternation()?;
        if p.i < p.chars.len() {
            return Err(p.error("unexpected )"));
        }
        let mut c = Compiler {
            prog: Vec::new(),
            classes: Vec::new(),
        };
        c.node(&node)?;
        c.emit(Inst::Match)?;
        Ok(Regex {
            pattern: pattern.to_string(),
            prog: c.prog,
            classes: c.classes,
        })
    }

    /// The source pattern.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// True when the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let n = self.prog.len();
        let mut current = StateSet::new(n);
        let mut next = StateSet::new(n);
        let mut stack = Vec::new();
        self.add(&mut current, 0, 0, chars.len(), &mut stack);
        for (pos, &c) in chars.iter().enumerate() {
            if current.list.is_empty() {
                return false;
            }
            next.clear();
            for k in 0..current.list.len() {
                let Some(&pc) = current.list.get(k) else { break };
                let advance = match self.prog.get(pc) {
                    Some(Inst::Char(want)) => *want == c,
                    Some(Inst::CharCi(want)) => chars_equal(*want, c, true),
                    Some(Inst::Any) => true,
                    Some(Inst::Class(i)) => self.classes.get(*i).is_some_and(|cl| cl.contains(c)),
                    _ => false,
                };
                if advance {
                    self.add(&mut next, pc + 1, pos + 1, chars.len(), &mut stack);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        current
            .list
            .iter()
            .any(|&pc| matches!(self.prog.get(pc), Some(Inst::Match)))
    }

    /// Adds `pc` and every state reachable from it without consuming input.
    fn add(&self, set: &mut StateSet, pc: usize, pos: usize, len: usize, stack: &mut Vec<usize>) {
        stack.clear();
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if !set.insert(pc) {
                continue;
            }
            match self.prog.get(pc) {
                Some(Inst::Jmp(t)) => stack.push(*t),
                Some(Inst::Split(a, b)) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Some(Inst::AssertStart) if pos == 0 => stack.push(pc + 1),
                Some(Inst::AssertEnd) if pos == len => stack.push(pc + 1),
                _ => {}
            }
        }
    }
}

fn chars_equal(a: char, b: char, ci: bool) -> bool {
    a == b || (ci && a.to_lowercase().eq(b.to_lowercase()))
}

/// A sparse set of program counters (insertion-ordered).
struct StateSet {
    seen: Vec<bool>,
    list: Vec<usize>,
}

impl StateSet {
    fn new(n: usize) -> Self {
        StateSet {
            seen: vec![false; n + 1],
            list: Vec::new(),
        }
    }
    fn insert(&mut self, pc: usize) -> bool {
        match self.seen.get_mut(pc) {
            Some(slot) if !*slot => {
                *slot = true;
                self.list.push(pc);
                true
            }
            _ => false,
        }
    }
    fn clear(&mut self) {
        for &pc in &self.list {
            if let Some(slot) = self.seen.get_mut(pc) {
                *slot = false;
            }
        }
        self.list.clear();
    }
}

struct Parser {
    chars: Vec<char>,
    i: usize,
    depth: usize,
    /// Case-insensitive flag in force.
    ci: bool,
}

impl Parser {
    fn error(&self, message: &str) -> RegexError {
        RegexError {
            offset: self.i,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn alternation(&mut self) -> Result<Node, RegexError> {
        // `(?i)` inside a group lasts to the end of that group.
        let saved_ci = self.ci;
        let result = self.alternation_inner();
        self.ci = saved_ci;
        result
    }

    fn alternation_inner(&mut self) -> Result<Node, RegexError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("expression nests too deeply"));
        }
        let mut branches = vec![self.concat()?];
        while self.peek() == Some('|') {
            self.i += 1;
            branches.push(self.concat()?);
        }
        self.depth -= 1;
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, RegexError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let atom = match atom {
                Node::Char(c) if self.ci => Node::CharCi(c),
                Node::Class(mut class) if self.ci => {
                    class.ci = true;
                    Node::Class(class)
                }
                other => other,
            };
            let atom = self.quantified(atom)?;
            items.push(atom);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, RegexError> {
        let mut node = atom;
        let mut chained = 0;
        loop {
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.i += 1;
                    (0, None)
                }
                Some('+') => {
                    self.i += 1;
                    (1, None)
                }
                Some('?') => {
                    self.i += 1;
                    (0, Some(1))
                }
                Some('{') => match self.braces()? {
                    Some(range) => range,
                    None => return Ok(node),
                },
                _ => return Ok(node),
            };
            if matches!(node, Node::Start | Node::End | Node::Empty) {
                return Err(self.error("missing argument to repetition operator"));
            }
            if self.peek() == Some('?') {
                self.i += 1; // lazy: same yes/no answer
            }
            chained += 1;
            if chained > 3 {
                return Err(self.error("too many repetition operators in a row"));
            }
            node = Node::Repeat {
                node: Box::new(node),
                min,
                max,
            };
            if matches!(self.peek(), Some('*' | '+' | '?')) {
                return Err(self.error("invalid nested repetition operator"));
            }
        }
    }

    /// `{n}`, `{n,}`, `{n,m}`; `None` (and no input consumed) when `{` is a literal.
    fn braces(&mut self) -> Result<Option<(u32, Option<u32>)>, RegexError> {
        let start = self.i;
        self.i += 1;
        let read = |p: &mut Parser| -> Option<u32> {
            let s = p.i;
            while p.peek().is_some_and(|c| c.is_ascii_digit()) {
                p.i += 1;
            }
            let text: String = p.chars.get(s..p.i).unwrap_or(&[]).iter().collect();
            text.parse().ok()
        };
        let Some(min) = read(self) else {
            self.i = start;
            return Ok(None);
        };
        let max = if self.peek() == Some(',') {
            self.i += 1;
            if self.peek() == Some('}') {
                None
            } else {
                match read(self) {
                    Some(m) => Some(m),
                    None => {
                        self.i = start;
                        return Ok(None);
                    }
                }
            }
        } else {
            Some(min)
        };
        if self.peek() != Some('}') {
            self.i = start;
            return Ok(None);
        }
        self.i += 1;
        if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
            self.i = start;
            return Err(self.error("invalid repeat count"));
        }
        Ok(Some((min, max)))
    }

    fn atom(&mut self) -> Result<Node, RegexError> {
        let Some(c) = self.peek() else {
            return Ok(Node::Empty);
        };
        self.i += 1;
        Ok(match c {
            '.' => Node::Any,
            '^' => Node::Start,
            '$' => Node::End,
            '(' => {
                let saved_ci = self.ci;
                if self.peek() == Some('?') {
                    self.i += 1;
                    let mut on = true;
                    loop {
                        match self.peek() {
                            Some('i') => self.ci = on,
                            Some('s' | 'm' | 'U') => {}
                            Some('-') if on => on = false,
                            Some(')') => {
                                // `(?i)`: in force to the end of the enclosing group.
                                self.i += 1;
                                return Ok(Node::Empty);
                            }
                            Some(':') => break,
                            _ => return Err(self.error("unsupported group flag")),
                        }
                        self.i += 1;
                    }
                    self.i += 1;
                }
                let inner = self.alternation();
                self.ci = saved_ci;
                let inner = inner?;
                if self.peek() != Some(')') {
                    return Err(self.error("missing closing )"));
                }
                self.i += 1;
                inner
            }
            '[' => Node::Class(self.class()?),
            '\\' => self.escape()?,
            '*' | '+' | '?' => {
                self.i -= 1;
                return Err(self.error("missing argument to repetition operator"));
            }
            other => Node::Char(other),
        })
    }

    /// After a backslash: an escaped character or a shorthand class.
    fn escape(&mut self) -> Result<Node, RegexError> {
        let Some(e) = self.peek() else {
            return Err(self.error("trailing backslash at end of expression"));
        };
        self.i += 1;
        let class = |ranges: Vec<(char, char)>, negated: bool| {
            Node::Class(Class {
                negated,
                ci: false,
                ranges,
            })
        };
        Ok(match e {
            'd' => class(digit(), false),
            'D' => class(digit(), true),
            'w' => class(word(), false),
            'W' => class(word(), true),
            's' => class(space(), false),
            'S' => class(space(), true),
            'n' => Node::Char('\n'),
            't' => Node::Char('\t'),
            'r' => Node::Char('\r'),
            'f' => Node::Char('\u{c}'),
            'v' => Node::Char('\u{b}'),
            c if c.is_ascii_punctuation() => Node::Char(c),
            _ => {
                self.i -= 1;
                return Err(self.error("unsupported escape sequence"));
            }
        })
    }

    fn class(&mut self) -> Result<Class, RegexError> {
        let mut class = Class::default();
        if self.peek() == Some('^') {
            class.negated = true;
            self.i += 1;
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("missing closing ]"));
            };
            if c == ']' && !first {
                self.i += 1;
                return Ok(class);
            }
            first = false;
            self.i += 1;
            let lo = if c == '\\' {
                match self.escape()? {
                    Node::Char(ch) => ch,
                    Node::Class(inner) if !inner.negated => {
                        class.ranges.extend(inner.ranges);
                        continue;
                    }
                    _ => return Err(self.error("unsupported escape in character class")),
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.i + 1).is_some_and(|&n| n != ']') {
                self.i += 1;
                let Some(hi_c) = self.peek() else {
                    return Err(self.error("missing closing ]"));
                };
                self.i += 1;
                let hi = if hi_c == '\\' {
                    match self.escape()? {
                        Node::Char(ch) => ch,
                        _ => return Err(self.error("invalid character class range")),
                    }
                } else {
                    hi_c
                };
                if hi < lo {
                    return Err(self.error("invalid character class range"));
                }
                class.ranges.push((lo, hi));
            } else {
                class.ranges.push((lo, lo));
            }
        }
    }
}

fn digit() -> Vec<(char, char)> {
    vec![('0', '9')]
}
fn word() -> Vec<(char, char)> {
    vec![('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_')]
}
fn space() -> Vec<(char, char)> {
    vec![('\t', '\n'), ('\u{c}', '\r'), (' ', ' ')]
}

struct Compiler {
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

impl Compiler {
    fn emit(&mut self, inst: Inst) -> Result<usize, RegexError> {
        if self.prog.len() >= MAX_PROGRAM {
            return Err(RegexError {
                offset: 0,
                message: "expression too large".into(),
            });
        }
        self.prog.push(inst);
        Ok(self.prog.len() - 1)
    }

    fn patch(&mut self, at: usize, inst: Inst) {
        if let Some(slot) = self.prog.get_mut(at) {
            *slot = inst;
        }
    }

    fn node(&mut self, node: &Node) -> Result<(), RegexError> {
        match node {
            Node::Empty => {}
            Node::Char(c) => {
                self.emit(Inst::Char(*c))?;
            }
            Node::CharCi(c) => {
                self.emit(Inst::CharCi(*c))?;
            }
            Node::Any => {
                self.emit(Inst::Any)?;
            }
            Node::Class(c) => {
                self.classes.push(c.clone());
                self.emit(Inst::Class(self.classes.len() - 1))?;
            }
            Node::Start => {
                self.emit(Inst::AssertStart)?;
            }
            Node::End => {
                self.emit(Inst::AssertEnd)?;
            }
            Node::Concat(items) => {
                for item in items {
                    self.node(item)?;
                }
            }
            Node::Alt(branches) => {
                let mut jumps = Vec::new();
                let count = branches.len();
                for (k, branch) in branches.iter().enumerate() {
                    if k + 1 < count {
                        let split = self.emit(Inst::Split(0, 0))?;
                        self.node(branch)?;
                        jumps.push(self.emit(Inst::Jmp(0))?);
                        let next = self.prog.len();
                        self.patch(split, Inst::Split(split + 1, next));
                    } else {
                        self.node(branch)?;
                    }
                }
                let end = self.prog.len();
                for j in jumps {
                    self.patch(j, Inst::Jmp(end));
                }
            }
            Node::Repeat { node, min, max } => {
                for _ in 0..*min {
                    self.node(node)?;
                }
                match max {
                    None => {
                        // x*: L: split(body, out); body; jmp L
                        let split = self.emit(Inst::Split(0, 0))?;
                        self.node(node)?;
                        self.emit(Inst::Jmp(split))?;
                        let out = self.prog.len();
                        self.patch(split, Inst::Split(split + 1, out));
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.emit(Inst::Split(0, 0))?);
                            self.node(node)?;
                        }
                        let out = self.prog.len();
                        for s in splits {
                            self.patch(s, Inst::Split(s + 1, out));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap().is_match(t)
    }

    #[test]
    fn anchored_matching() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "xabc"));
        assert!(m(".*abc.*", "xabcx"));
        assert!(m("a|b", "b"));
        assert!(m("(ab)+c", "ababc"));
        assert!(!m("(ab)+c", "c"));
        assert!(m("a{2,3}", "aaa"));
        assert!(!m("a{2,3}", "aaaa"));
        assert!(m("a{2,}", "aaaaa"));
        assert!(m("[a-c]+\\d", "cab7"));
        assert!(m("[^x]*", "abc"));
        assert!(!m("[^x]*", "axc"));
        assert!(m("(?i)get.*", "GET /x"));
        assert!(m("a(?i:b)c", "aBc"));
        assert!(!m("a(?i:b)c", "aBC"));
        assert!(m("(?i)[a-c]x", "Bx"));
        assert!(m("x(?i)y", "xY"));
        assert!(!m("x(?i)y", "XY"));
        assert!(m("(?s).*", "a\nb"));
        assert!(m("a.b", "a\nb"));
        assert!(m("^POST /v1/.*$", "POST /v1/chat"));
        assert!(m("x{", "x{"));
        assert!(m("\\w+\\s\\S", "ab_9 z"));
        assert!(m("a.c", "a\u{e9}c"));
        assert!(m("", ""));
        assert!(m("a??b", "b"));
    }

    #[test]
    fn rejects_bad_patterns() {
        for p in [
            "(", "a)", "[a", "*a", "a**", "\\", "a{5,2}", "(?P<x>a)", "\\b", "x{1001}",
        ] {
            assert!(Regex::new(p).is_err(), "{p}");
        }
    }

    #[test]
    fn no_blowup() {
        let r = Regex::new("(a*)*b").unwrap();
        assert!(!r.is_match(&"a".repeat(5000)));
        assert!(Regex::new("(((a{100}){100}){100})").is_err());
    }
}
