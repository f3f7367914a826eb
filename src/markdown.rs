//! Petition text: Markdown in, sanitised HTML out.

use pulldown_cmark::{Options, Parser, html};

/// Renders organiser Markdown to HTML safe to show on a public page: raw HTML, scripts, event
/// handlers and `javascript:` links are removed by ammonia; links get `rel="noopener noreferrer"`.
pub fn render(markdown: &str) -> String {
    sanitise(markdown, false)
}

/// Renders Markdown for an email: as [`render`], without images. A remote image in an email is
/// a tracking pixel (it tells its server when and from where each signer read it).
pub fn render_for_email(markdown: &str) -> String {
    sanitise(markdown, true)
}

/// The text of some Markdown without its markup, on one line, cut at a word boundary after at
/// most `max` characters (with "…" when cut): a page's description for search engines and
/// link previews.
pub fn plain_excerpt(markdown: &str, max: usize) -> String {
    use pulldown_cmark::{Event, TagEnd};
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell,
            ) => text.push(' '),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(at) if at > max / 2 => &cut[..at],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.', ' ']))
}

fn sanitise(markdown: &str, without_images: bool) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES,
    );
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    let mut builder = ammonia::Builder::default();
    builder.link_rel(Some("noopener noreferrer nofollow"));
    // Links within the text (footnotes, `#section`) stay; other relative URLs go, so a petition
    // cannot make an organizer's browser request dashboard URLs (`<img src="/dashboard/…">`).
    builder.url_relative(ammonia::UrlRelative::Custom(Box::new(only_fragments)));
    if without_images {
        builder.rm_tags(["img"]);
    }
    builder.clean(&unsafe_html).to_string()
}

fn only_fragments(url: &str) -> Option<std::borrow::Cow<'_, str>> {
    url.starts_with('#')
        .then_some(std::borrow::Cow::Borrowed(url))
}

#[cfg(test)]
mod tests {
    use super::{plain_excerpt, render, render_for_email};

    #[test]
    fn an_excerpt_is_plain_text_cut_at_a_word() {
        let md = "Armenian **prisoners** remain\ndetained in [Baku](https://x.example).\n\n1. one";
        assert_eq!(
            plain_excerpt(md, 200),
            "Armenian prisoners remain detained in Baku. one"
        );
        assert_eq!(plain_excerpt(md, 30), "Armenian prisoners remain…");
        assert_eq!(plain_excerpt("Ազատություն բոլորին", 11), "Ազատություն…");
    }

    #[test]
    fn relative_urls_are_dropped_except_links_within_the_text() {
        let html = render(
            "<img src=\"/dashboard/petitions/x/export.csv\"> [a](/dashboard) [b](//evil.example/x) \
             [c](#why) [d](https://example.org/) note[^1]\n\n[^1]: the note",
        );
        assert!(!html.contains("/dashboard"), "{html}");
        assert!(!html.contains("evil.example"), "{html}");
        assert!(html.contains("href=\"#why\""), "{html}");
        assert!(html.contains("href=\"https://example.org/\""), "{html}");
        assert!(html.contains("href=\"#"), "{html}");
    }

    #[test]
    fn emails_get_no_images() {
        let md = "Delivered. ![](https://tracker.example/p.gif) <img src=\"https://t.example/x\">";
        assert!(render(md).contains("tracker.example"));
        let email = render_for_email(md);
        assert!(
            !email.contains("<img") && !email.contains("tracker.example"),
            "{email}"
        );
        assert!(email.contains("Delivered."));
    }

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
