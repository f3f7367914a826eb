//! Share cards: the 1200×630 PNG that a link to a petition previews with (`og:image`), drawn by
//! the server from an SVG with resvg, in the font compiled into the binary (Noto Sans merged with
//! Noto Sans Armenian; see `fonts/OFL.txt`), so every language renders the same on every host.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;

/// Noto Sans (Latin, Cyrillic) merged with Noto Sans Armenian: one family for every language,
/// so no line depends on font fallback.
const FONTS: [&[u8]; 2] = [
    include_bytes!("fonts/NotoSansLatinCyrillicArmenian-Regular.ttf"),
    include_bytes!("fonts/NotoSansLatinCyrillicArmenian-Bold.ttf"),
];
const FAMILIES: &str = "'Noto Sans'";

const MARGIN: f32 = 64.0;
const ACCENT: &str = "#1a5fb4";

/// What a card shows.
pub struct Card<'a> {
    pub title: &'a str,
    /// "3,807 of 5,500 signatures", as the page says it.
    pub progress: &'a str,
    /// 0 to 100.
    pub percent: u32,
    /// The organisation running the site (or the site's name).
    pub site: &'a str,
    /// The petition's image (PNG, JPEG or WebP), shown on the right.
    pub image: Option<(&'a [u8], &'a str)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CardError {
    #[error("share card: {0}")]
    Render(String),
}

fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut fonts = usvg::fontdb::Database::new();
        for font in FONTS {
            fonts.load_font_data(font.to_vec());
        }
        fonts.set_sans_serif_family("Noto Sans");
        usvg::Options {
            fontdb: Arc::new(fonts),
            font_family: "Noto Sans".into(),
            ..Default::default()
        }
    })
}

fn escape(text: &str) -> String {
    // Only what XML 1.0 calls a character (no controls, no surrogates, no U+FFFE or U+FFFF),
    // and nothing invisible: a title stored before such characters were refused must not
    // stop its card from being drawn.
    let text: String = text
        .chars()
        .filter(|&c| is_xml_char(c) && !c.is_control() && !crate::domain::is_invisible_format(c))
        .collect();
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The width of each word of `words` and of a space, set in `size` px bold: measured by laying
/// them out as the card will, so that lines break where they fit.
fn widths(words: &[&str], size: f32) -> Result<(Vec<f32>, f32), CardError> {
    let mut svg =
        format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\">");
    for (i, word) in words.iter().chain(std::iter::once(&"x x")).enumerate() {
        svg.push_str(&format!(
            "<text id=\"w{i}\" x=\"0\" y=\"100\" font-family=\"{FAMILIES}\" font-weight=\"700\" \
             font-size=\"{size}\" xml:space=\"preserve\">{}</text>",
            escape(word)
        ));
    }
    svg.push_str(&format!(
        "<text id=\"xx\" x=\"0\" y=\"100\" font-family=\"{FAMILIES}\" font-weight=\"700\" \
         font-size=\"{size}\">xx</text></svg>"
    ));
    let tree =
        usvg::Tree::from_str(&svg, options()).map_err(|e| CardError::Render(e.to_string()))?;
    let width = |id: &str| {
        tree.node_by_id(id)
            .map_or(0.0, |n| n.abs_bounding_box().width())
    };
    let measured: Vec<f32> = (0..words.len()).map(|i| width(&format!("w{i}"))).collect();
    // "x x" less "xx" is one space.
    let space = (width(&format!("w{}", words.len())) - width("xx")).max(size * 0.2);
    Ok((measured, space))
}

/// `text` broken into at most `max_lines` lines of at most `room` px at `size`; the last one
/// ends in "…" if the text did not fit. `None` if a line would still be too long.
fn wrap(text: &str, size: f32, room: f32, max_lines: usize) -> Result<Vec<String>, CardError> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (measured, space) = widths(&words, size)?;
    let mut lines: Vec<(String, f32)> = vec![];
    for (word, w) in words.iter().zip(measured) {
        match lines.last_mut() {
            Some((line, used)) if *used + space + w <= room => {
                line.push(' ');
                line.push_str(word);
                *used += space + w;
            }
            _ => lines.push((word.to_string(), w)),
        }
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some((last, _)) = lines.last_mut() {
            last.push('…');
        }
    }
    Ok(lines.into_iter().map(|(l, _)| l).collect())
}

/// The card as an SVG document.
pub fn svg(card: &Card<'_>) -> Result<String, CardError> {
    let text_right = if card.image.is_some() {
        760.0
    } else {
        WIDTH as f32 - MARGIN
    };
    let room = text_right - MARGIN;
    // The largest size at which the title takes at most three lines, else four at the smallest.
    let mut chosen = None;
    for (size, max_lines) in [(68.0, 3), (58.0, 3), (50.0, 4)] {
        let lines = wrap(card.title, size, room, max_lines)?;
        let fits = !lines.last().is_some_and(|l| l.ends_with('…'));
        if fits || size == 50.0 {
            chosen = Some((size, lines));
            if fits {
                break;
            }
        }
    }
    let (size, lines) = chosen.unwrap_or((50.0, vec![]));
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\"><rect width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         fill=\"#ffffff\"/><rect width=\"{WIDTH}\" height=\"12\" fill=\"{ACCENT}\"/>"
    );
    if let Some((bytes, mime)) = card.image {
        use base64::Engine as _;
        svg.push_str(&format!(
            "<image x=\"800\" y=\"12\" width=\"400\" height=\"{}\" \
             preserveAspectRatio=\"xMidYMid slice\" href=\"data:{mime};base64,{}\"/>",
            HEIGHT - 12,
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ));
    }
    let line_height = size * 1.2;
    for (i, line) in lines.iter().enumerate() {
        svg.push_str(&format!(
            "<text x=\"{MARGIN}\" y=\"{:.1}\" font-family=\"{FAMILIES}\" font-weight=\"700\" \
             font-size=\"{size}\" fill=\"#1b1f24\">{}</text>",
            MARGIN + 40.0 + size + line_height * i as f32,
            escape(line)
        ));
    }
    let bar_y = 470.0;
    let filled = room * card.percent.min(100) as f32 / 100.0;
    svg.push_str(&format!(
        "<text x=\"{MARGIN}\" y=\"{:.1}\" font-family=\"{FAMILIES}\" font-weight=\"700\" \
         font-size=\"40\" fill=\"{ACCENT}\">{}</text>\
         <rect x=\"{MARGIN}\" y=\"{bar_y}\" width=\"{room}\" height=\"22\" rx=\"11\" fill=\"#dfe6ef\"/>\
         <rect x=\"{MARGIN}\" y=\"{bar_y}\" width=\"{filled:.1}\" height=\"22\" rx=\"11\" fill=\"{ACCENT}\"/>\
         <text x=\"{MARGIN}\" y=\"{:.1}\" font-family=\"{FAMILIES}\" font-size=\"30\" \
         fill=\"#4a5260\">{}</text></svg>",
        bar_y - 24.0,
        escape(card.progress),
        HEIGHT as f32 - MARGIN + 10.0,
        escape(card.site),
    ));
    Ok(svg)
}

/// The card as a PNG.
pub fn png(card: &Card<'_>) -> Result<Vec<u8>, CardError> {
    let svg = svg(card)?;
    let tree =
        usvg::Tree::from_str(&svg, options()).map_err(|e| CardError::Render(e.to_string()))?;
    let mut pixmap = tiny_skia::Pixmap::new(WIDTH, HEIGHT)
        .ok_or_else(|| CardError::Render("no pixmap".into()))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| CardError::Render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(title: &str) -> Card<'_> {
        Card {
            title,
            progress: "3,807 of 5,500 signatures",
            percent: 69,
            site: "Armenian diaspora volunteers",
            image: None,
        }
    }

    #[test]
    fn a_long_title_wraps_within_the_card_and_ends_in_an_ellipsis_only_if_cut() {
        let room = WIDTH as f32 - 2.0 * MARGIN;
        let short = wrap("Free them", 68.0, room, 3).unwrap();
        assert_eq!(short, ["Free them"]);
        let long = "Trigger the OSCE Moscow Mechanism for the Armenian prisoners held in Baku";
        let lines = wrap(long, 68.0, room, 3).unwrap();
        assert!(lines.len() > 1 && lines.len() <= 3, "{lines:?}");
        assert_eq!(lines.join(" ").replace('…', ""), long);
        let cut = wrap(&"word ".repeat(200), 68.0, room, 3).unwrap();
        assert_eq!(cut.len(), 3);
        assert!(cut[2].ends_with('…'));
        // Every line fits: measured again as a whole.
        for line in &lines {
            let (w, _) = widths(&[line.as_str()], 68.0).unwrap();
            assert!(w[0] <= room + 1.0, "{line}: {}", w[0]);
        }
    }

    #[test]
    fn armenian_and_cyrillic_titles_are_drawn_in_their_own_glyphs() {
        for title in [
            "Գործարկել ԵԱՀԿ Մոսկովյան մեխանիզմը",
            "Задействовать Московский механизм",
        ] {
            let (w, _) = widths(&[title], 40.0).unwrap();
            assert!(w[0] > 300.0, "{title}: {}", w[0]);
        }
        let png = png(&card("Գործարկել ԵԱՀԿ Մոսկովյան մեխանիզմը")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn text_is_escaped_in_the_svg() {
        let svg = svg(&card("<script>&\"")).unwrap();
        assert!(svg.contains("&lt;script&gt;&amp;&quot;"), "{svg}");
    }
}
