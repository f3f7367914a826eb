//! Petition text: Markdown in, sanitised HTML out.

use pulldown_cmark::{Options, Parser, html};

/// Renders organiser Markdown to HTML safe to show on a public page: raw HTML, scripts, event
/// handlers and `javascript:` links are removed by ammonia; links get `rel="noopener noreferrer"`.
pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES,
    );
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_renders_and_scripts_do_not() {
        let html =
            render("# Free them\n\n**Now**. <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<h1>Free them</h1>"));
        assert!(html.contains("<strong>Now</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
    }
}
