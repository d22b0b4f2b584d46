//! Self-contained HTML pages with charts drawn in the browser by a small vendored-in SVG
//! renderer (`assets/report/charts.js`, no third-party code, no network requests). The scan
//! report uses it today; the web dashboard is meant to serve the same `charts.js` and styles.

/// The chart renderer: `UsmcaCharts.histogram`, `.stackedBars` and `.timeline` (inline SVG).
pub const CHARTS_JS: &str = include_str!("../../assets/report/charts.js");
/// The page styles shared by every report page.
pub const REPORT_CSS: &str = include_str!("../../assets/report/report.css");
/// The scan report's page script: reads the embedded data and lays out the page.
pub const SCAN_REPORT_JS: &str = include_str!("../../assets/report/scan-report.js");

/// The Content-Security-Policy every page carries: nothing may be fetched, only the inline
/// styles and scripts run.
pub const CSP: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

/// One HTML page: `title`, the shared styles and chart code, `data` embedded as JSON (readable
/// by the page script as `JSON.parse(document.getElementById('data').textContent)`), and
/// `script`, which draws the page.
pub fn page(title: &str, data: &serde_json::Value, script: &str) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".to_string());
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <link rel=\"icon\" href=\"data:,\">\n\
         <title>{title}</title>\n<style>\n{css}\n</style>\n</head>\n<body>\n\
         <main id=\"app\"><h1>{title}</h1><noscript>This report draws its charts with JavaScript.</noscript></main>\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n\
         <script>\n{charts}\n</script>\n<script>\n{script}\n</script>\n</body>\n</html>\n",
        csp = CSP,
        title = escape_html(title),
        css = REPORT_CSS,
        data = escape_script(&json),
        charts = CHARTS_JS,
        script = script,
    )
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes JSON safe inside a `<script>` element: no `</script>` or `<!--` can end it early.
fn escape_script(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_cannot_close_the_script() {
        let html = page(
            "a <b>",
            &serde_json::json!({"text": "</script><script>alert(1)</script>"}),
            "",
        );
        assert!(!html.contains("</script><script>alert"));
        assert!(html.contains("<title>a &lt;b&gt;</title>"));
        assert!(html.contains("default-src 'none'"));
        assert!(!html.contains("href=\"http") && !html.contains(" src="));
    }
}
