//! Glob lists that are cheap to build.
//!
//! Compiling a `globset::GlobSet` builds regular expressions and Aho-Corasick automata,
//! which dominated the cost of building an engine. Most configured globs are literals,
//! `*` and `**` only (`**/.ssh/**`, `**/id_rsa*`, `/etc/shadow`, `*.openai.com`); those
//! are matched here directly, with the exact semantics globset gives them (see
//! [`SimpleGlob`]), and only the remaining globs (classes, alternates, `?`, escapes) are
//! compiled by globset.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// How the globs of a list are compiled. Every list in the engine treats `*` as matching
/// across `/` (`literal_separator(false)`) and `\` as an escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GlobOptions {
    /// ASCII letters match either case (globset's `case_insensitive`).
    pub case_insensitive: bool,
}

/// One token of a simple glob, as globset's parser produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `*`: `.*`
    ZeroOrMore,
    /// Leading `**/`: `(?:/?|.*/)`
    RecursivePrefix,
    /// Trailing `/**`: `/.*`
    RecursiveSuffix,
    /// Inner `/**/`: `(?:/|/.*/)`
    RecursiveZeroOrMore,
}

/// Tokenise a glob made of literal characters and `*` only, exactly as
/// `globset::Glob` does (`globset::glob::Parser::parse_star`, one branch). `None` when the
/// glob uses any other syntax.
fn tokenize(glob: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = glob.chars().collect();
    if chars
        .iter()
        .any(|c| matches!(c, '?' | '[' | ']' | '{' | '}' | ',' | '\\'))
    {
        return None;
    }
    let mut tokens = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '*' {
            tokens.push(Token::Literal(c));
            i += 1;
            continue;
        }
        // The character before this `*` in the glob text (globset's `prev`).
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        if chars.get(i + 1) != Some(&'*') {
            tokens.push(Token::ZeroOrMore);
            i += 1;
            continue;
        }
        let next = chars.get(i + 2).copied();
        i += 2;
        if tokens.is_empty() {
            match next {
                None => tokens.push(Token::RecursivePrefix),
                Some('/') => {
                    tokens.push(Token::RecursivePrefix);
                    i += 1;
                }
                Some(_) => {
                    tokens.push(Token::ZeroOrMore);
                    tokens.push(Token::ZeroOrMore);
                }
            }
            continue;
        }
        if prev != Some('/') {
            tokens.push(Token::ZeroOrMore);
            tokens.push(Token::ZeroOrMore);
            continue;
        }
        let is_suffix = match next {
            None => true,
            Some('/') => {
                i += 1;
                false
            }
            Some(_) => {
                tokens.push(Token::ZeroOrMore);
                tokens.push(Token::ZeroOrMore);
                continue;
            }
        };
        // `prev` is `/`: it was pushed as a literal or ends a recursive token.
        match tokens.pop() {
            Some(Token::RecursivePrefix) => tokens.push(Token::RecursivePrefix),
            Some(Token::RecursiveSuffix) => tokens.push(Token::RecursiveSuffix),
            _ if is_suffix => tokens.push(Token::RecursiveSuffix),
            _ => tokens.push(Token::RecursiveZeroOrMore),
        }
    }
    Some(tokens)
}

/// One alternative of a simple glob: literal chunks separated by `.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Alternative {
    /// The chunks, in order. Without `star`, there is exactly one and it is the whole
    /// candidate. With `star`, the first is anchored at the start, the last at the end
    /// and the ones between occur in order (each `.*` may match across `/`).
    chunks: Vec<String>,
    star: bool,
}

impl Alternative {
    fn from_pieces(pieces: &[Piece]) -> Self {
        let mut chunks = vec![String::new()];
        let mut star = false;
        for p in pieces {
            match p {
                Piece::Text(t) => chunks.last_mut().map_or((), |c| c.push_str(t)),
                Piece::Star => {
                    star = true;
                    chunks.push(String::new());
                }
            }
        }
        if star {
            // Consecutive stars are one star; keep the anchored first and last chunks.
            let last = chunks.len() - 1;
            let mut kept = Vec::with_capacity(chunks.len());
            for (i, c) in chunks.into_iter().enumerate() {
                if i == 0 || i == last || !c.is_empty() {
                    kept.push(c);
                }
            }
            chunks = kept;
        }
        Self { chunks, star }
    }

    fn is_match(&self, s: &str) -> bool {
        if !self.star {
            return self.chunks[0] == s;
        }
        let first = &self.chunks[0];
        let last = &self.chunks[self.chunks.len() - 1];
        if s.len() < first.len() + last.len()
            || !s.starts_with(first.as_str())
            || !s.ends_with(last.as_str())
        {
            return false;
        }
        // Both ends are whole characters of `s`, so this slice is valid.
        let mut rest = &s[first.len()..s.len() - last.len()];
        match &self.chunks[1..self.chunks.len() - 1] {
            [] => true,
            [one] => rest.contains(one.as_str()),
            inner => {
                // Leftmost placement of each inner chunk is optimal: `.*` takes the rest.
                for chunk in inner {
                    match rest.find(chunk.as_str()) {
                        Some(at) => rest = &rest[at + chunk.len()..],
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Star,
}

/// Most optional recursive tokens (`**/` at the start, `/**/` inside) a simple glob may
/// have; each doubles the alternatives tried per candidate.
const MAX_OPTIONAL: u32 = 3;

/// How a simple glob is matched: the common shapes in constant time or with one
/// substring search, anything else by its alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// `**`: everything.
    All,
    /// `**/NAME` (`NAME` without `/`): the last component is `NAME`.
    Basename(String),
    /// `**/NAME/**`: a component other than the last is `NAME`. Holds `/NAME/`.
    Directory(String),
    /// `**/NAME*`: a component starts with `NAME`. Holds `/NAME`.
    ComponentPrefix(String),
    /// The union of alternatives.
    General(Vec<Alternative>),
}

/// A glob made only of literal characters, `*` and `**`, matched without a regex.
///
/// The semantics are globset's with `literal_separator(false)`: the glob is the anchored
/// byte regex `(?-u)^…$` where `*` is `.*` (any bytes, `/` included), a leading `**/`
/// is `(?:/?|.*/)`, a trailing `/**` is `/.*`, an inner `/**/` is `(?:/|/.*/)` and a
/// glob of just `**` matches everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimpleGlob {
    shape: Shape,
}

/// The literal text of tokens that are all literal characters.
fn literal_text(tokens: &[Token]) -> Option<String> {
    tokens
        .iter()
        .map(|t| match t {
            Token::Literal(c) => Some(*c),
            _ => None,
        })
        .collect()
}

impl SimpleGlob {
    /// Compile a glob, or `None` when it needs globset. A case-insensitive glob matches
    /// candidates that are ASCII-lower-cased first ([`GlobList`] does that).
    pub(crate) fn new(glob: &str, options: GlobOptions) -> Option<Self> {
        let glob_text = if options.case_insensitive {
            glob.to_ascii_lowercase()
        } else {
            glob.to_string()
        };
        let mut tokens = tokenize(&glob_text)?;
        // `(?:/?|.*/).*` is `.*`: a leading `**/` before `*` adds nothing (`**/*.rs`).
        if tokens.starts_with(&[Token::RecursivePrefix, Token::ZeroOrMore]) {
            tokens.remove(0);
        }
        // globset's basename, extension and required-extension strategies see no file
        // name in a path ending with `..`, so a glob ending with `.` (`**/..`, `*.`) can
        // differ from its regex there: leave those to globset.
        if tokens.last() == Some(&Token::Literal('.')) {
            return None;
        }
        if tokens == [Token::RecursivePrefix] {
            return Some(Self { shape: Shape::All });
        }
        if let Some(shape) = Self::component_shape(&tokens) {
            return Some(Self { shape });
        }
        let optional = tokens
            .iter()
            .filter(|t| matches!(t, Token::RecursivePrefix | Token::RecursiveZeroOrMore))
            .count() as u32;
        if optional > MAX_OPTIONAL {
            return None;
        }
        let mut alternatives = Vec::with_capacity(1 << optional);
        for choice in 0..(1u32 << optional) {
            let mut pieces = Vec::with_capacity(tokens.len() + 2);
            let mut bit = 0;
            for t in &tokens {
                match t {
                    Token::Literal(c) => pieces.push(Piece::Text(c.to_string())),
                    Token::ZeroOrMore => pieces.push(Piece::Star),
                    Token::RecursiveSuffix => {
                        pieces.push(Piece::Text("/".into()));
                        pieces.push(Piece::Star);
                    }
                    // `(?:/?|.*/)` is `(?:|.*/)`: a lone `/` is also `.*/`.
                    Token::RecursivePrefix => {
                        if choice & (1 << bit) != 0 {
                            pieces.push(Piece::Star);
                            pieces.push(Piece::Text("/".into()));
                        }
                        bit += 1;
                    }
                    Token::RecursiveZeroOrMore => {
                        pieces.push(Piece::Text("/".into()));
                        if choice & (1 << bit) != 0 {
                            pieces.push(Piece::Star);
                            pieces.push(Piece::Text("/".into()));
                        }
                        bit += 1;
                    }
                }
            }
            let alt = Alternative::from_pieces(&pieces);
            if !alternatives.contains(&alt) {
                alternatives.push(alt);
            }
        }
        Some(Self {
            shape: Shape::General(alternatives),
        })
    }

    /// `**/NAME`, `**/NAME/**` and `**/NAME*` with a non-empty `NAME` without `/`.
    ///
    /// With `S` the candidate, `(?:/?|.*/)X` matches `S` exactly when `X` matches a
    /// suffix of `/S` that follows a `/`. So `**/NAME` matches when `S` is `NAME` or ends
    /// with `/NAME`; `**/NAME/**` when `/S` contains `/NAME/`; `**/NAME*` when `/S`
    /// contains `/NAME`.
    fn component_shape(tokens: &[Token]) -> Option<Shape> {
        let (Token::RecursivePrefix, rest) = tokens.split_first()? else {
            return None;
        };
        let (body, make): (&[Token], fn(String) -> Shape) = match rest.last()? {
            Token::RecursiveSuffix => (&rest[..rest.len() - 1], |n| {
                Shape::Directory(format!("/{n}/"))
            }),
            Token::ZeroOrMore => (&rest[..rest.len() - 1], |n| {
                Shape::ComponentPrefix(format!("/{n}"))
            }),
            Token::Literal(_) => (rest, Shape::Basename),
            _ => return None,
        };
        let name = literal_text(body)?;
        if name.is_empty() || name.contains('/') {
            return None;
        }
        Some(make(name))
    }

    /// Whether the glob matches a candidate (a path or host).
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match &self.shape {
            Shape::All => true,
            Shape::Basename(name) => {
                s.ends_with(name.as_str())
                    && (s.len() == name.len() || s.as_bytes()[s.len() - name.len() - 1] == b'/')
            }
            // `/S` contains `/NAME…` when `S` starts with `NAME…` or contains `/NAME…`.
            Shape::Directory(needle) | Shape::ComponentPrefix(needle) => {
                s.starts_with(&needle[1..]) || s.contains(needle.as_str())
            }
            Shape::General(alternatives) => alternatives.iter().any(|a| a.is_match(s)),
        }
    }
}

/// Parse a glob as globset would (errors included), without building a matcher.
pub(crate) fn parse(glob: &str, options: GlobOptions) -> Result<globset::Glob, globset::Error> {
    GlobBuilder::new(glob)
        .case_insensitive(options.case_insensitive)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
}

/// Check a glob's syntax: `Ok` exactly when globset accepts it.
pub(crate) fn check(glob: &str, options: GlobOptions) -> Result<(), globset::Error> {
    if tokenize(glob).is_some() {
        // Literal characters and stars always parse.
        return Ok(());
    }
    parse(glob, options).map(|_| ())
}

/// Globs of the component shapes, looked up per component of the candidate by the
/// component's first byte, so a candidate costs one table lookup per component rather
/// than one search per glob.
#[derive(Debug, Clone, Default)]
struct ComponentIndex {
    /// `(name, kind, glob number)`, grouped by the first byte of `name`.
    entries: Vec<(String, ComponentKind, usize)>,
    /// `entries[start[b]..start[b + 1]]` are the names starting with byte `b`.
    start: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ComponentKind {
    /// The last component is the name.
    Last,
    /// A component other than the last is the name.
    Inner,
    /// A component starts with the name.
    Prefix,
}

impl ComponentIndex {
    fn new(mut entries: Vec<(String, ComponentKind, usize)>) -> Self {
        // Names are never empty (see `SimpleGlob::component_shape`).
        entries.sort_by_key(|(name, _, i)| (name.as_bytes()[0], *i));
        let mut start = vec![0u32; 257];
        for (name, _, _) in &entries {
            start[name.as_bytes()[0] as usize + 1] += 1;
        }
        for b in 0..256 {
            start[b + 1] += start[b];
        }
        Self { entries, start }
    }

    /// The lowest glob number below `limit` matching a component of `s`.
    fn first_match(
        &self,
        s: &str,
        limit: Option<usize>,
        accept: &impl Fn(usize) -> bool,
    ) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        let mut best = limit;
        let mut components = s.split('/').peekable();
        while let Some(c) = components.next() {
            let Some(&first) = c.as_bytes().first() else {
                continue;
            };
            let is_last = components.peek().is_none();
            let range =
                self.start[first as usize] as usize..self.start[first as usize + 1] as usize;
            for (name, kind, i) in &self.entries[range] {
                if best.is_some_and(|b| *i >= b) {
                    break; // sorted by number within a first byte
                }
                let hit = match kind {
                    ComponentKind::Last => is_last && c == name,
                    ComponentKind::Inner => !is_last && c == name,
                    ComponentKind::Prefix => c.starts_with(name.as_str()),
                };
                if hit && accept(*i) {
                    best = Some(*i);
                    break;
                }
            }
        }
        best.filter(|b| limit != Some(*b))
    }
}

/// An ordered list of globs; a query returns the lowest-numbered matching glob.
#[derive(Debug, Clone)]
pub(crate) struct GlobList {
    /// Simple globs of the component shapes.
    components: ComponentIndex,
    /// The other simple globs with their numbers, in order.
    simple: Vec<(usize, SimpleGlob)>,
    /// The other globs, compiled by globset, with the number of each set entry.
    complex: Option<(GlobSet, Vec<usize>)>,
    case_insensitive: bool,
}

impl GlobList {
    /// Compile globs; numbers are positions in `globs`.
    pub(crate) fn new<'a>(
        globs: impl IntoIterator<Item = &'a str>,
        options: GlobOptions,
    ) -> Result<Self, globset::Error> {
        let mut components = Vec::new();
        let mut simple = Vec::new();
        let mut builder: Option<GlobSetBuilder> = None;
        let mut map = Vec::new();
        for (i, glob) in globs.into_iter().enumerate() {
            match SimpleGlob::new(glob, options) {
                Some(SimpleGlob {
                    shape: Shape::Basename(name),
                }) => {
                    components.push((name, ComponentKind::Last, i));
                }
                // The index matches names, not the `/NAME/` and `/NAME` needles.
                Some(SimpleGlob {
                    shape: Shape::Directory(needle),
                }) => {
                    components.push((
                        needle[1..needle.len() - 1].to_string(),
                        ComponentKind::Inner,
                        i,
                    ));
                }
                Some(SimpleGlob {
                    shape: Shape::ComponentPrefix(needle),
                }) => {
                    components.push((needle[1..].to_string(), ComponentKind::Prefix, i));
                }
                Some(g) => simple.push((i, g)),
                None => {
                    builder
                        .get_or_insert_with(GlobSetBuilder::new)
                        .add(parse(glob, options)?);
                    map.push(i);
                }
            }
        }
        let complex = match builder {
            Some(b) => Some((b.build()?, map)),
            None => None,
        };
        Ok(Self {
            components: ComponentIndex::new(components),
            simple,
            complex,
            case_insensitive: options.case_insensitive,
        })
    }

    /// The lowest-numbered glob that matches `candidate` and that `accept` admits.
    pub(crate) fn first_match(
        &self,
        candidate: &str,
        accept: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let lowered;
        let folded = if self.case_insensitive && candidate.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = candidate.to_ascii_lowercase();
            lowered.as_str()
        } else {
            candidate
        };
        let mut best = self
            .simple
            .iter()
            .find(|(i, g)| accept(*i) && g.is_match(folded))
            .map(|(i, _)| *i);
        if let Some(i) = self.components.first_match(folded, best, &accept) {
            best = Some(i);
        }
        if let Some((set, map)) = &self.complex {
            for k in set.matches(candidate) {
                let i = map[k];
                if best.is_none_or(|b| i < b) && accept(i) {
                    best = Some(i);
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXACT: GlobOptions = GlobOptions {
        case_insensitive: false,
    };
    const ICASE: GlobOptions = GlobOptions {
        case_insensitive: true,
    };

    /// Compare the simple matcher with globset (a one-glob set, as the engine used it
    /// before this module existed) on every candidate.
    fn agree(glob: &str, candidates: &[&str], options: GlobOptions) {
        let Some(simple) = SimpleGlob::new(glob, options) else {
            return;
        };
        let mut b = GlobSetBuilder::new();
        b.add(parse(glob, options).unwrap_or_else(|e| panic!("{glob:?}: {e}")));
        let set = b.build().unwrap();
        let list = GlobList::new([glob], options).unwrap();
        for c in candidates {
            let expected = set.is_match(c);
            if !options.case_insensitive {
                assert_eq!(simple.is_match(c), expected, "glob {glob:?} on {c:?}");
            }
            assert_eq!(
                list.first_match(c, |_| true).is_some(),
                expected,
                "glob {glob:?} on {c:?} ({options:?})"
            );
        }
    }

    #[test]
    fn common_shapes_match_like_globset() {
        let globs = [
            "**/.ssh/**",
            "**/.ssh",
            "**/id_rsa*",
            "**/.env",
            "**/.env.*",
            "/etc/shadow",
            "/repo/**",
            "/repo",
            "**/test/**",
            "**/*_test.*",
            "**/*.test.*",
            "*.openai.com",
            "openai.com",
            "**",
            "*",
            "",
            "a/**/b",
            "a/**/**/b",
            "**/**/x",
            "a/**",
            "a**",
            "**a",
            "a/**b",
            "/**",
            "**/a/b",
            "*.rs",
            "**/*.rs",
            "src/*",
        ];
        let candidates = [
            "/home/u/.ssh/id_rsa",
            "/home/u/.ssh",
            "~/.ssh",
            ".ssh",
            ".ssh/x",
            "/home/u/.sshx",
            "/a/id_rsa.pub",
            "id_rsa",
            "/app/.env",
            ".env",
            "/app/.env.local",
            "/app/x.env",
            "/etc/shadow",
            "/etc/shadow/",
            "/repo/a",
            "/repo",
            "/repo/",
            "/repox",
            "/a/test/b",
            "test/b",
            "/a/b_test.go",
            "/a/b.test.js",
            "api.openai.com",
            "openai.com",
            "xopenai.com",
            "",
            ".",
            "..",
            "a/..",
            "/x/..",
            "a/b",
            "a/x/b",
            "a/x/y/b",
            "ab",
            "a",
            "a/b/x",
            "x",
            "/x",
            "/",
            "src/main.rs",
            "main.rs",
            ".rs",
            "/a/é/b",
            "é",
        ];
        let upper: Vec<String> = candidates.iter().map(|c| c.to_uppercase()).collect();
        let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
        for g in globs {
            assert!(SimpleGlob::new(g, EXACT).is_some(), "{g} should be simple");
            agree(g, &candidates, EXACT);
            agree(g, &candidates, ICASE);
            agree(g, &upper, ICASE);
        }
    }

    #[test]
    fn random_globs_and_paths_match_like_globset() {
        // A small deterministic generator: every short combination of these symbols.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let glob_alphabet = [
            "a", "b", ".", "/", "*", "**", "/**", "**/", "/**/", "é", "A",
        ];
        let path_alphabet = ["a", "b", ".", "/", "é", "A", "ab", "/a/", ".."];
        let paths: Vec<String> = (0..400)
            .map(|_| {
                (0..next(7))
                    .map(|_| path_alphabet[next(path_alphabet.len())])
                    .collect()
            })
            .collect();
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        for _ in 0..300 {
            let glob: String = (0..1 + next(5))
                .map(|_| glob_alphabet[next(glob_alphabet.len())])
                .collect();
            agree(&glob, &paths, EXACT);
            agree(&glob, &paths, ICASE);
        }
    }

    #[test]
    fn common_globs_get_constant_time_or_single_search_shapes() {
        let shape = |g: &str| SimpleGlob::new(g, EXACT).unwrap().shape;
        assert_eq!(shape("**/.ssh/**"), Shape::Directory("/.ssh/".into()));
        assert_eq!(shape("**/.env"), Shape::Basename(".env".into()));
        assert_eq!(
            shape("**/id_rsa*"),
            Shape::ComponentPrefix("/id_rsa".into())
        );
        assert_eq!(shape("**/.env.*"), Shape::ComponentPrefix("/.env.".into()));
        assert_eq!(shape("**"), Shape::All);
        // `**/*_test.*` is `*_test.*`: one alternative, one substring search.
        match shape("**/*_test.*") {
            Shape::General(alternatives) => assert_eq!(
                alternatives,
                vec![Alternative {
                    chunks: vec![String::new(), "_test.".into(), String::new()],
                    star: true
                }]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lists_return_the_same_first_match_as_a_globset() {
        let mut state: u64 = 0xD1B5_4A32_D192_ED03;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let parts = ["a", "b", ".x", "/", "*", "**/", "/**", "[ab]", "{a,b}", "?"];
        let names = ["a", "b", ".x", "ab"];
        let paths: Vec<String> = (0..300)
            .map(|_| {
                (0..1 + next(5))
                    .map(|_| format!("/{}", names[next(names.len())]))
                    .collect::<String>()[next(2)..]
                    .to_string()
            })
            .collect();
        for _ in 0..200 {
            let globs: Vec<String> = (0..1 + next(10))
                .map(|_| {
                    let g: String = (0..1 + next(4)).map(|_| parts[next(parts.len())]).collect();
                    match next(3) {
                        0 => format!("**/{g}"),
                        1 => format!("**/{g}/**"),
                        _ => g,
                    }
                })
                .filter(|g| parse(g, EXACT).is_ok())
                .collect();
            let mut b = GlobSetBuilder::new();
            for g in &globs {
                b.add(parse(g, EXACT).unwrap());
            }
            let set = b.build().unwrap();
            let list = GlobList::new(globs.iter().map(String::as_str), EXACT).unwrap();
            for p in &paths {
                let expected = set.matches(p).into_iter().min();
                assert_eq!(
                    list.first_match(p, |_| true),
                    expected,
                    "{globs:?} on {p:?}"
                );
                let expected_odd = set.matches(p).into_iter().filter(|i| i % 2 == 1).min();
                assert_eq!(
                    list.first_match(p, |i| i % 2 == 1),
                    expected_odd,
                    "{globs:?} on {p:?} (odd)"
                );
            }
        }
    }

    #[test]
    fn special_syntax_is_left_to_globset() {
        // `**/..` and `*.` match differently in globset's sets than their regexes say.
        for g in ["a?b", "[ab]", "{a,b}", "a\\*", "a,b", "a]", "**/..", "*."] {
            assert!(SimpleGlob::new(g, EXACT).is_none(), "{g}");
        }
        // Too many optional recursive tokens.
        assert!(SimpleGlob::new("**/a/**/b/**/c/**/d", EXACT).is_none());
    }

    #[test]
    fn list_returns_the_lowest_matching_number_across_simple_and_complex() {
        let globs = ["/x/[ab]", "/x/*", "/x/a", "/y/{a,b}"];
        let list = GlobList::new(globs.iter().copied(), EXACT).unwrap();
        assert_eq!(list.first_match("/x/a", |_| true), Some(0));
        assert_eq!(list.first_match("/x/c", |_| true), Some(1));
        assert_eq!(list.first_match("/x/a", |i| i != 0), Some(1));
        assert_eq!(list.first_match("/x/a", |i| i >= 2), Some(2));
        assert_eq!(list.first_match("/y/b", |_| true), Some(3));
        assert_eq!(list.first_match("/z", |_| true), None);
    }

    #[test]
    fn invalid_globs_are_errors_with_globsets_message() {
        let e = GlobList::new(["ok", "[unclosed"].iter().copied(), EXACT).unwrap_err();
        assert_eq!(
            e.to_string(),
            parse("[unclosed", EXACT).unwrap_err().to_string()
        );
        assert!(check("[unclosed", EXACT).is_err());
        assert!(check("**/.ssh/**", EXACT).is_ok());
    }
}
