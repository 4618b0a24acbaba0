//! Unicode folding shared by every guard that compares names or scans text.

use unicode_normalization::UnicodeNormalization;

/// Characters that render as nothing and are used to split keywords past a filter.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// NFKC, lower-case, invisible characters removed. Full-width letters become ASCII.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.nfkc()
        .filter(|c| !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Fold and trim surrounding white space (for identifiers such as tool names).
pub fn fold_name(s: &str) -> String {
    let folded = fold(s);
    let trimmed = folded.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    if trimmed.len() == folded.len() {
        folded
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_and_case_fold_to_ascii() {
        assert_eq!(fold("ｓｈｅｌｌ_Exec"), "shell_exec");
    }

    #[test]
    fn zero_width_is_removed() {
        assert_eq!(fold("ig\u{200B}nore"), "ignore");
    }

    #[test]
    fn names_are_trimmed() {
        assert_eq!(fold_name("  Shell_Exec \t"), "shell_exec");
    }
}
