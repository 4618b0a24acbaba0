//! Readmes: published as Markdown, served as sanitised HTML (pulldown-cmark renders,
//! ammonia removes scripts, event handlers, `javascript:` links and anything else that
//! could run in a reader's browser).

/// The largest readme rendered; longer ones are cut (with a note) rather than refused.
pub const MAX_README_BYTES: usize = 512 * 1024;

/// Markdown → safe HTML.
pub fn render(markdown: &str) -> String {
    let (text, cut) = if markdown.len() > MAX_README_BYTES {
        let mut end = MAX_README_BYTES;
        while !markdown.is_char_boundary(end) {
            end -= 1;
        }
        (&markdown[..end], true)
    } else {
        (markdown, false)
    };
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    options.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    options.insert(pulldown_cmark::Options::ENABLE_TASKLISTS);
    let parser = pulldown_cmark::Parser::new_ext(text, options);
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    if cut {
        html.push_str("<p><em>(readme shortened)</em></p>");
    }
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_becomes_html_without_anything_that_runs() {
        let html = render("# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n| a |\n|---|\n| b |");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        for bad in ["<script", "javascript:", "onerror"] {
            assert!(!html.contains(bad), "{bad} survived: {html}");
        }
    }

    #[test]
    fn huge_readmes_are_cut_not_refused() {
        let html = render(&"word ".repeat(200_000));
        assert!(html.contains("readme shortened"));
    }
}
