//! GNU parallel: its options written after `pool` (`-j2`, `--joblog F`, `--retries 3`…) and
//! its replacement strings (`{.}`, `{/}`, `{#}`, `{%}`…). (`{}` and `:::` parse as words and
//! are found by the checker: `check::foreign`.)

use super::{line_end, line_start, rhai_array, Foreign};
use crate::Span;

/// A replacement string (`{.}`) or an option after `pool` (`pool -j2 exec …`) where the
/// parser stopped.
pub(super) fn at(src: &str, pos: usize) -> Option<Foreign> {
    let rest = &src[pos..line_end(src, pos)];
    if let Some((token, flow)) = replacement_token(rest) {
        let from = line_start(src, pos);
        let line = &src[from..line_end(src, pos)];
        let job = line.find("pool ").map_or(line, |p| &line[p..]);
        return Some(Foreign::new(
            Span::new(pos, pos + token.len()),
            format!("`{token}` is GNU parallel's replacement string, not flow"),
            format!(
                "write `{}`: in a pool job, `{token}` is `{flow}`",
                replace_tokens(job.trim())
            ),
        ));
    }
    if !rest.starts_with('-') {
        return None;
    }
    let before = &src[line_start(src, pos)..pos];
    let pool_at = before.rfind("pool")?;
    let size = before[pool_at + 4..].trim();
    let plain_size = size.chars().all(|c| c.is_ascii_digit()) || size == "cpus";
    if !plain_size || !before[pool_at + 4..].starts_with([' ', '\t']) {
        return None;
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let options = job_options(&words);
    if options.used == 0 {
        return None;
    }
    // The options' own text, then the job after them.
    let mut end = 0;
    for w in &words[..options.used] {
        end = rest[end..].find(w).map_or(end, |i| end + i + w.len());
    }
    let job = rest[end..].trim();
    let job = job.split(" | ").next().unwrap_or(job).trim_end();
    let size = options.size.clone().unwrap_or_else(|| size.to_string());
    Some(Foreign::new(
        Span::new(pos, pos + end),
        format!("`{}` is a GNU parallel option, not flow", words[0]),
        options_help(&options, &size, job),
    ))
}

/// `(token, flow's spelling)` of a GNU parallel replacement string at the start of `s`.
pub(super) fn replacement_token(s: &str) -> Option<(&str, String)> {
    let close = s.find('}').filter(|&c| c <= 4)?;
    let token = &s[..=close];
    let inner = token.strip_prefix('{')?.strip_suffix('}')?;
    let flow = match inner {
        "" => "${it}".into(),
        "." => "${no_ext(it)}".into(),
        "/" => "${basename(it)}".into(),
        "//" => "${dirname(it)}".into(),
        "/." => "${stem(it)}".into(),
        "+." => "${ext(it)}".into(),
        "#" => "${seq}".into(),
        "%" => "${slot}".into(),
        n if !n.is_empty() && n.len() < 3 && n.chars().all(|c| c.is_ascii_digit()) && n != "0" => {
            format!("${{it[{}]}}", n.parse::<usize>().ok()? - 1)
        }
        _ => return None,
    };
    Some((token, flow))
}

/// `text` with every replacement string written as flow's.
fn replace_tokens(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        match replacement_token(&rest[i..]) {
            Some((token, flow)) => {
                out.push_str(&flow);
                rest = &rest[i + token.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// GNU parallel options as flow writes them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct JobOptions {
    /// How many of the words were options (or their values).
    pub used: usize,
    /// The pool's size (`-j4`).
    pub size: Option<String>,
    /// Pool options, written after the job: `log "jobs.tsv"`, `retries 3`.
    pub after: Vec<String>,
    /// What each option is in flow: "`--retries 3` is `retries 3`".
    pub notes: Vec<String>,
}

/// The GNU parallel (and xargs) options at the start of `words`, as flow writes them.
pub(crate) fn job_options(words: &[&str]) -> JobOptions {
    let mut o = JobOptions::default();
    let mut i = 0;
    while let Some(&w) = words.get(i) {
        if !w.starts_with('-') || w == "-" || w == "--" {
            break;
        }
        // `--name=value`, `-j2` (a value glued to a short option), `-j 2`.
        let (opt, glued) = match w.split_once('=') {
            Some((o, v)) if w.starts_with("--") => (o, Some(v)),
            _ if !w.starts_with("--") && w.len() > 2 && b"jPnNL".contains(&w.as_bytes()[1]) => {
                (&w[..2], Some(&w[2..]))
            }
            _ => (w, None),
        };
        let takes_value = matches!(
            opt,
            "-j" | "--jobs"
                | "-P"
                | "--max-procs"
                | "--joblog"
                | "--retries"
                | "--timeout"
                | "--halt"
                | "-n"
                | "-N"
                | "-L"
                | "--max-args"
                | "--max-lines"
                | "-a"
                | "--arg-file"
        );
        let value = match (takes_value, glued) {
            (true, Some(v)) => v,
            (true, None) => {
                i += 1;
                words.get(i).copied().unwrap_or("N")
            }
            (false, _) => "",
        };
        let written = if takes_value && glued.is_none() {
            format!("{w} {value}")
        } else {
            w.to_string()
        };
        let after = |flow: String, o: &mut JobOptions| {
            o.notes
                .push(format!("`{written}` is `{flow}`, written after the job"));
            o.after.push(flow);
        };
        match opt {
            "-j" | "--jobs" | "-P" | "--max-procs" => {
                o.notes.push(format!("`{written}` is the pool's size, after `pool`"));
                o.size = Some(value.to_string());
            }
            "--joblog" => after(format!("log \"{value}\""), &mut o),
            "--retries" => after(format!("retries {value}"), &mut o),
            "--timeout" => {
                let unit = if value.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    "s"
                } else {
                    ""
                };
                after(format!("timeout {value}{unit}"), &mut o);
            }
            "--halt" | "--halt-on-error" => after(halt(value), &mut o),
            "-n" | "-N" | "-L" | "--max-args" | "--max-lines" => {
                after(format!("chunk {value}"), &mut o);
            }
            "--bar" | "--progress" | "--eta" => after("progress".into(), &mut o),
            "--resume" | "--resume-failed" => after("resume".into(), &mut o),
            "-u" | "--ungroup" | "--line-buffer" => after("unordered".into(), &mut o),
            "-k" | "--keep-order" | "--group" => {
                o.notes.push(format!("`{written}` is flow's default: drop it"));
            }
            "-0" | "--null" => o.notes.push(format!(
                "`{written}` is `lines \"\\0\"` before the pool: `find … -print0 | lines \"\\0\" | pool …`"
            )),
            "-a" | "--arg-file" => o.notes.push(format!(
                "`{written}` is the pool's input: `from lines(\"{value}\") | pool …`"
            )),
            _ => o.notes.push(format!(
                "`{written}` has no flow spelling here (see docs/coming-from-parallel.md)"
            )),
        }
        i += 1;
    }
    // (A value-taking option last, `-j`, has stepped past the end.)
    o.used = i.min(words.len());
    o
}

/// `--halt now,fail=1` → `on_error fail`, `soon,fail=3` → `on_error fail 3 soon`.
fn halt(value: &str) -> String {
    if matches!(value, "never" | "0") {
        return "on_error continue".into();
    }
    let (when, fail) = value.split_once(',').unwrap_or(("now", value));
    let n = fail.strip_prefix("fail=").unwrap_or("1");
    let n = if n == "1" {
        String::new()
    } else {
        format!(" {n}")
    };
    let soon = if when == "soon" || when == "2" {
        " soon"
    } else {
        ""
    };
    format!("on_error fail{n}{soon}")
}

/// The help for GNU parallel options in a pool: what each is, then the whole stage as flow
/// writes it (`size`: the pool's size, `job`: `exec cmd …` or `map f` with any options).
pub(crate) fn options_help(o: &JobOptions, size: &str, job: &str) -> String {
    format!(
        "write `{}`: {}",
        stage_text(o, size, job),
        o.notes.join("; ")
    )
}

/// `pool SIZE JOB OPTIONS`.
fn stage_text(o: &JobOptions, size: &str, job: &str) -> String {
    let mut stage = String::from("pool");
    for part in [size, job]
        .into_iter()
        .chain(o.after.iter().map(String::as_str))
    {
        if !part.is_empty() {
            stage.push(' ');
            stage.push_str(part);
        }
    }
    stage
}

/// `parallel` itself where it is not installed, or a parallel option as a pool job's
/// program (`pool exec -j2 echo ${it}`). `(message, help)`.
pub(super) fn program(src: &str, name: &str, span: Span) -> Option<(String, String)> {
    let command = span.text(src);
    let words: Vec<&str> = command.split_whitespace().collect();
    if name == "parallel" {
        let o = job_options(&words[1..]);
        let rest = &words[1 + o.used..];
        let (cmd, items) = match rest.iter().position(|w| *w == ":::") {
            Some(k) => (&rest[..k], Some(&rest[k + 1..])),
            None => (rest, None),
        };
        let job = format!("exec {} ${{it}}", cmd.join(" "));
        let source = items.map_or(String::new(), |i| {
            format!("from {} | ", rhai_array(i.iter().copied()))
        });
        let stage = format!(
            "{source}{}",
            stage_text(&o, o.size.as_deref().unwrap_or(""), &job)
        );
        let help = if o.notes.is_empty() {
            format!("write `{stage}`")
        } else {
            format!("write `{stage}`: {}", o.notes.join("; "))
        };
        return Some((
            "`parallel` (GNU parallel) is not installed; flow's `pool` does its work".into(),
            help,
        ));
    }
    let before = src[line_start(src, span.start)..span.start].trim_end();
    if !name.starts_with('-') || !before.ends_with("exec") || !before.contains("pool") {
        return None;
    }
    let o = job_options(&words);
    if o.used == 0 {
        return None;
    }
    let job = format!("exec {}", words[o.used..].join(" "));
    let pool = &before[before.rfind("pool")? + 4..before.len() - 4];
    let size = o.size.clone().unwrap_or_else(|| pool.trim().to_string());
    Some((
        format!("`{name}` is a GNU parallel option, not a program"),
        options_help(&o, &size, &job),
    ))
}
