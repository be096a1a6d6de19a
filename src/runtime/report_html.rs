//! `--report FILE.html`: the run's report as one self-contained page — inline CSS and SVG,
//! no script and no network, so it opens from a `file://` URL and as an e-mail attachment.
//! What it shows: the outcome; per stage, a bar of busy / waiting-for-input /
//! waiting-to-send time with its items and peak queue fill, the bottleneck marked; a
//! timeline of stages and tasks; CPU and memory over time; the script with each stage's
//! line marked.

use super::report::{ms, RunReport};
use std::fmt::Write as _;

/// Text made safe inside HTML (element text and attribute values).
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const STYLE: &str =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}\
.meta{color:#555}.bad{color:#b00020;font-weight:600}.ok{color:#1b7f3b;font-weight:600}\
table{border-collapse:collapse}td,th{padding:3px 8px;text-align:right;border-bottom:1px solid #eee}\
td.l,th.l{text-align:left}tr.bn td{background:#fff4e5}\
.key span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}\
pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:13px}\
pre .hl{background:#fff4e5;display:inline-block;width:100%}pre .n{color:#999;user-select:none}";

const BUSY: &str = "#2f6fdb";
const WAIT_IN: &str = "#f2b134";
const WAIT_OUT: &str = "#b0b0b0";

impl RunReport {
    /// The report as one self-contained HTML page; `source` is the script's text.
    #[must_use]
    pub fn to_html(&self, source: &str) -> String {
        let mut h = String::with_capacity(16 * 1024);
        let _ = write!(
            h,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>flow report: {}</title><style>{STYLE}</style></head><body>",
            esc(&self.script)
        );
        self.outcome(&mut h);
        self.stage_bars(&mut h);
        self.timeline(&mut h);
        self.pool_slots(&mut h);
        self.resources(&mut h);
        self.script_lines(&mut h, source);
        h.push_str("</body></html>\n");
        h
    }

    fn outcome(&self, h: &mut String) {
        let status = if self.interrupted {
            "<span class=\"bad\">interrupted</span>".to_string()
        } else if let Some(e) = &self.error {
            format!("<span class=\"bad\">failed</span>: {}", esc(e))
        } else {
            "<span class=\"ok\">succeeded</span>".to_string()
        };
        let _ = write!(
            h,
            "<h1>flow run: {}</h1><p class=\"meta\">{status} · exit status {} · {} · \
             CPU {} · peak memory {:.1} MB · {} stage(s), {} pool job(s), {} task(s)</p>",
            esc(&self.script),
            self.exit_code,
            ms(self.duration_us),
            ms(self.cpu_us()),
            self.peak_rss_kb() as f64 / 1024.0,
            self.stages.len(),
            self.jobs.len(),
            self.tasks.len()
        );
    }

    fn stage_bars(&self, h: &mut String) {
        if self.stages.is_empty() {
            return;
        }
        let _ = write!(
            h,
            "<h2>Stages: where the time went</h2><p class=\"key\">\
             <span style=\"background:{BUSY}\"></span>busy\
             <span style=\"background:{WAIT_IN}\"></span>waiting for input\
             <span style=\"background:{WAIT_OUT}\"></span>waiting to send output</p>\
             <table><tr><th class=\"l\">line</th><th class=\"l\">stage</th><th>in</th>\
             <th>out</th><th class=\"l\">time</th><th>busy</th><th>peak queue</th></tr>"
        );
        // One time scale for every bar: a stage that lived briefly has a short bar.
        let longest = self
            .stages
            .iter()
            .map(|s| s.wall_us())
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        for s in &self.stages {
            let wall = s.wall_us().max(1) as f64;
            let w = |us: u64| 240.0 * us as f64 / longest;
            let (b, i) = (w(s.busy_us), w(s.wait_in_us));
            let o = w(s.wait_out_us);
            let _ = write!(
                h,
                "<tr{}><td class=\"l\">{}</td><td class=\"l\"><code>{}</code>{}</td><td>{}</td>\
                 <td>{}</td><td class=\"l\"><svg width=\"240\" height=\"14\" role=\"img\" \
                 aria-label=\"busy {:.0}%\"><rect width=\"{b:.1}\" height=\"14\" fill=\"{BUSY}\"/>\
                 <rect x=\"{b:.1}\" width=\"{i:.1}\" height=\"14\" fill=\"{WAIT_IN}\"/>\
                 <rect x=\"{:.1}\" width=\"{o:.1}\" height=\"14\" fill=\"{WAIT_OUT}\"/></svg></td>\
                 <td>{:.0}%</td><td>{}/{}</td></tr>",
                if s.bottleneck { " class=\"bn\"" } else { "" },
                s.line,
                esc(&s.label),
                if s.bottleneck {
                    " <strong>← bottleneck</strong>"
                } else {
                    ""
                },
                s.items_in,
                s.items_out,
                100.0 * s.busy_us as f64 / wall,
                b + i,
                100.0 * s.busy_us as f64 / wall,
                s.peak_fill,
                s.capacity
            );
        }
        h.push_str("</table>");
    }

    fn timeline(&self, h: &mut String) {
        let rows: Vec<(String, u64, u64, &str)> = self
            .stages
            .iter()
            .map(|s| {
                let color = if s.bottleneck { "#e8710a" } else { BUSY };
                (
                    format!("{}: {}", s.line, s.label),
                    s.start_us,
                    s.end_us,
                    color,
                )
            })
            .chain(self.processes.iter().map(|p| {
                let color = if p.exit == 0 { "#6b4fbb" } else { "#b00020" };
                (
                    format!("{}: {}", p.line, p.label),
                    p.start_us,
                    p.end_us,
                    color,
                )
            }))
            .chain(self.tasks.iter().map(|t| {
                let name = if t.name.is_empty() { "spawn" } else { &t.name };
                let color = if t.ok { "#1b7f3b" } else { "#b00020" };
                (
                    format!("{}: task {name}", t.line),
                    t.start_us,
                    t.end_us,
                    color,
                )
            }))
            .take(400)
            .collect();
        if rows.is_empty() {
            return;
        }
        let total = self.duration_us.max(1) as f64;
        let (label_w, plot_w, row_h) = (320.0, 640.0, 16.0);
        let height = row_h * rows.len() as f64 + 24.0;
        let _ = write!(
            h,
            "<h2>Timeline</h2><svg width=\"{}\" height=\"{height}\" role=\"img\" \
             aria-label=\"timeline of stages and tasks\" font-size=\"11\">",
            label_w + plot_w + 10.0
        );
        for (k, (label, start, end, color)) in rows.iter().enumerate() {
            let y = row_h * k as f64;
            let x = label_w + plot_w * *start as f64 / total;
            let w = (plot_w * end.saturating_sub(*start) as f64 / total).max(1.0);
            let short: String = label.chars().take(48).collect();
            let _ = write!(
                h,
                "<text x=\"0\" y=\"{:.1}\">{}</text><rect x=\"{x:.1}\" y=\"{:.1}\" \
                 width=\"{w:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{} — {} to {}</title></rect>",
                y + 12.0,
                esc(&short),
                y + 2.0,
                row_h - 4.0,
                esc(label),
                ms(*start),
                ms(*end)
            );
        }
        let y = row_h * rows.len() as f64 + 14.0;
        let _ = write!(
            h,
            "<text x=\"{label_w}\" y=\"{y:.1}\">0</text><text x=\"{:.1}\" y=\"{y:.1}\" \
             text-anchor=\"end\">{}</text></svg>",
            label_w + plot_w,
            ms(self.duration_us)
        );
    }

    /// Per pool: a row per slot, a bar per job (red: failed; a darker edge: retried), and a
    /// summary line.
    fn pool_slots(&self, h: &mut String) {
        let total = self.duration_us.max(1) as f64;
        let (label_w, plot_w, row_h) = (80.0, 880.0, 18.0);
        for p in &self.pools {
            let jobs: Vec<_> = self.jobs.iter().filter(|j| j.pool == p.id).collect();
            let failed = jobs.iter().filter(|j| !j.ok).count();
            let retried = jobs.iter().filter(|j| j.attempts > 1).count();
            let _ = write!(
                h,
                "<h2>Pool, line {}: <code>{}</code></h2><p class=\"meta\">{} jobs on {} slots · \
                 {failed} failed · {retried} retried</p>",
                p.line,
                esc(&p.label),
                jobs.len(),
                p.slots
            );
            if jobs.is_empty() {
                continue;
            }
            let height = row_h * p.slots as f64 + 4.0;
            let _ = write!(
                h,
                "<svg width=\"{}\" height=\"{height}\" role=\"img\" font-size=\"11\" \
                 aria-label=\"jobs by slot\">",
                label_w + plot_w
            );
            for slot in 1..=p.slots {
                let y = row_h * (slot - 1) as f64;
                let _ = write!(h, "<text x=\"0\" y=\"{:.1}\">slot {slot}</text>", y + 13.0);
            }
            for j in jobs.iter().take(5000) {
                let y = row_h * j.slot.saturating_sub(1) as f64;
                let x = label_w + plot_w * j.start_us as f64 / total;
                let w = (plot_w * j.end_us.saturating_sub(j.start_us) as f64 / total).max(1.0);
                let fill = if j.ok { BUSY } else { "#b00020" };
                let stroke = if j.attempts > 1 {
                    " stroke=\"#222\" stroke-width=\"1.5\""
                } else {
                    ""
                };
                // The time in Slurm's queue, lighter, at the start of the bar.
                let qw = (plot_w * j.queue_us as f64 / total).min(w - 1.0).max(0.0);
                if j.queue_us > 0 {
                    let _ = write!(
                        h,
                        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{qw:.1}\" height=\"{:.1}\" \
                         fill=\"#c9d6f2\"><title>queued {}</title></rect>",
                        y + 2.0,
                        row_h - 4.0,
                        ms(j.queue_us)
                    );
                }
                let (x, w) = (x + qw, w - qw);
                let _ = write!(
                    h,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" \
                     fill=\"{fill}\"{stroke}><title>#{} {} — {} on slot {}, {} attempt(s), \
                     exit {}{}{}</title></rect>",
                    y + 2.0,
                    row_h - 4.0,
                    j.seq,
                    esc(&j.item),
                    ms(j.end_us.saturating_sub(j.start_us)),
                    j.slot,
                    j.attempts,
                    j.exit,
                    if j.signal != 0 {
                        format!(", signal {}", j.signal)
                    } else {
                        String::new()
                    },
                    if j.max_rss_kb > 0 {
                        format!(
                            ", CPU {}, peak memory {:.1} MB",
                            ms(j.cpu_us),
                            j.max_rss_kb as f64 / 1024.0
                        )
                    } else {
                        String::new()
                    }
                );
            }
            h.push_str("</svg>");
        }
    }

    fn resources(&self, h: &mut String) {
        if self.samples.len() < 2 {
            return;
        }
        let total = self.duration_us.max(1) as f64;
        let (w, ht) = (640.0, 120.0);
        let peak = self.peak_rss_kb().max(1) as f64;
        let rss: Vec<String> = self
            .samples
            .iter()
            .map(|s| {
                format!(
                    "{:.1},{:.1}",
                    w * s.t_us as f64 / total,
                    ht - ht * s.rss_kb as f64 / peak
                )
            })
            .collect();
        // CPU: cores busy between two samples.
        let cores = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
        let cpu: Vec<String> = self
            .samples
            .windows(2)
            .map(|p| {
                let dt = p[1].t_us.saturating_sub(p[0].t_us).max(1) as f64;
                let busy = (p[1].cpu_us.saturating_sub(p[0].cpu_us) as f64 / dt).min(cores);
                format!(
                    "{:.1},{:.1}",
                    w * p[1].t_us as f64 / total,
                    ht - ht * busy / cores
                )
            })
            .collect();
        let _ = write!(
            h,
            "<h2>CPU and memory</h2><p class=\"key\"><span style=\"background:{BUSY}\"></span>\
             CPU (0 to {cores:.0} cores)<span style=\"background:#1b7f3b\"></span>resident memory \
             (0 to {:.1} MB)</p><svg width=\"{w}\" height=\"{ht}\" role=\"img\" \
             aria-label=\"CPU and memory over time\" style=\"border:1px solid #eee\">\
             <polyline fill=\"none\" stroke=\"{BUSY}\" stroke-width=\"1.5\" points=\"{}\"/>\
             <polyline fill=\"none\" stroke=\"#1b7f3b\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
            peak / 1024.0,
            cpu.join(" "),
            rss.join(" ")
        );
    }

    fn script_lines(&self, h: &mut String, source: &str) {
        let marked: std::collections::HashSet<usize> = self
            .stages
            .iter()
            .map(|s| s.line)
            .chain(self.tasks.iter().map(|t| t.line))
            .chain(self.pools.iter().map(|p| p.line))
            .chain(self.processes.iter().map(|p| p.line))
            .collect();
        h.push_str("<h2>Script</h2><pre>");
        for (i, line) in source.lines().enumerate() {
            let n = i + 1;
            if marked.contains(&n) {
                let _ = writeln!(
                    h,
                    "<span class=\"hl\"><span class=\"n\">{n:>4}  </span>{}</span>",
                    esc(line)
                );
            } else {
                let _ = writeln!(h, "<span class=\"n\">{n:>4}  </span>{}", esc(line));
            }
        }
        h.push_str("</pre>");
    }
}

#[cfg(test)]
mod tests {
    use crate::runtime::report::{RunReport, StageReport};

    #[test]
    fn html_is_escaped_and_self_contained() {
        let r = RunReport {
            script: "<x>.flow".into(),
            stages: vec![StageReport {
                label: "map { it < \"&\" }".into(),
                line: 1,
                end_us: 10,
                busy_us: 10,
                ..StageReport::default()
            }],
            ..RunReport::default()
        };
        let h = r.to_html("from xs | map { it < \"&\" } // </pre><script>");
        assert!(!h.contains("<script"));
        assert!(!h.contains("<x>"));
        assert!(h.contains("&lt;x&gt;.flow"));
        assert!(!h.contains("http://") && !h.contains("https://"));
    }
}
