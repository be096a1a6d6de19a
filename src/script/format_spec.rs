//! `format(x, spec)`: Python's format-spec mini-language for numbers and strings —
//! `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`, with the types
//! `b c d o x X n` (integers), `e E f F g G n %` (floats, and integers converted), `s`
//! (strings). The same text as Python's `format(x, spec)`, or the same error.

/// A parsed spec.
#[derive(Debug, Default)]
struct Spec {
    fill: Option<char>,
    align: Option<char>,
    sign: Option<char>,
    z: bool,
    alt: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    ty: Option<char>,
}

fn parse(spec: &str) -> Result<Spec, String> {
    let cs: Vec<char> = spec.chars().collect();
    let mut s = Spec::default();
    let mut i = 0;
    let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
    if cs.len() >= 2 && is_align(cs[1]) {
        s.fill = Some(cs[0]);
        s.align = Some(cs[1]);
        i = 2;
    } else if cs.first().is_some_and(|&c| is_align(c)) {
        s.align = Some(cs[0]);
        i = 1;
    }
    if let Some(&c) = cs.get(i) {
        if matches!(c, '+' | '-' | ' ') {
            s.sign = Some(c);
            i += 1;
        }
    }
    if cs.get(i) == Some(&'z') {
        s.z = true;
        i += 1;
    }
    if cs.get(i) == Some(&'#') {
        s.alt = true;
        i += 1;
    }
    if cs.get(i) == Some(&'0') {
        s.zero = true;
        i += 1;
    }
    let digits = |i: &mut usize| -> Option<usize> {
        let start = *i;
        while cs.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        (start < *i).then(|| {
            cs[start..*i]
                .iter()
                .collect::<String>()
                .parse()
                .unwrap_or(usize::MAX)
        })
    };
    s.width = digits(&mut i).unwrap_or(0);
    if s.width > 10_000 {
        return Err("format: a width over 10000 is too big".into());
    }
    if let Some(&c) = cs.get(i) {
        if c == ',' || c == '_' {
            s.grouping = Some(c);
            i += 1;
        }
    }
    if cs.get(i) == Some(&'.') {
        i += 1;
        s.precision = Some(digits(&mut i).ok_or("format: a precision must follow `.`")?);
        if s.precision > Some(1000) {
            return Err("format: a precision over 1000 is too big".into());
        }
    }
    if let Some(&c) = cs.get(i) {
        s.ty = Some(c);
        i += 1;
    }
    if i != cs.len() {
        return Err(format!("format: invalid format specifier `{spec}`"));
    }
    Ok(s)
}

/// `format(x, spec)` of an integer.
pub(crate) fn int(x: i64, spec: &str) -> Result<String, String> {
    let s = parse(spec)?;
    let (radix, upper) = match s.ty {
        None | Some('d' | 'n') => (10, false),
        Some('x') => (16, false),
        Some('X') => (16, true),
        Some('o') => (8, false),
        Some('b') => (2, false),
        Some('c') => {
            if s.sign.is_some() {
                return Err("format: sign not allowed with integer format specifier 'c'".into());
            }
            let c = u32::try_from(x)
                .ok()
                .and_then(char::from_u32)
                .ok_or("format: %c arg not in range(0x110000)")?;
            return Ok(pad(&s, "", &c.to_string(), '<'));
        }
        Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%') => {
            #[allow(clippy::cast_precision_loss)]
            return float_with(x as f64, &s);
        }
        Some(t) => return Err(format!("format: unknown format code '{t}' for an integer")),
    };
    if s.precision.is_some() {
        return Err("format: precision not allowed in integer format specifier".into());
    }
    let mut digits = match radix {
        16 => format!("{:x}", x.unsigned_abs()),
        8 => format!("{:o}", x.unsigned_abs()),
        2 => format!("{:b}", x.unsigned_abs()),
        _ => x.unsigned_abs().to_string(),
    };
    if upper {
        digits = digits.to_uppercase();
    }
    if let Some(g) = s.grouping {
        let every = if radix == 10 { 3 } else { 4 };
        if radix != 10 && g == ',' {
            return Err("format: cannot specify ',' with this format".into());
        }
        digits = group(&digits, g, every);
    }
    let prefix = match (s.alt, radix) {
        (true, 16) => {
            if upper {
                "0X"
            } else {
                "0x"
            }
        }
        (true, 8) => "0o",
        (true, 2) => "0b",
        _ => "",
    };
    let sign = sign_of(x < 0, s.sign);
    Ok(pad(&s, &format!("{sign}{prefix}"), &digits, '>'))
}

/// `format(x, spec)` of a float.
pub(crate) fn float(x: f64, spec: &str) -> Result<String, String> {
    let s = parse(spec)?;
    if matches!(s.ty, Some('d' | 'x' | 'X' | 'o' | 'b' | 'c')) {
        let t = s.ty.unwrap_or('d');
        return Err(format!("format: unknown format code '{t}' for a float"));
    }
    float_with(x, &s)
}

fn float_with(x: f64, s: &Spec) -> Result<String, String> {
    let neg = x.is_sign_negative() && !(s.z && x == 0.0);
    let a = x.abs();
    let body = if a.is_nan() {
        "nan".to_string()
    } else if a.is_infinite() {
        "inf".to_string()
    } else {
        match s.ty {
            Some('f' | 'F') => fixed(a, s.precision.unwrap_or(6), s),
            Some('%') => format!("{}%", fixed(a * 100.0, s.precision.unwrap_or(6), s)),
            Some('e' | 'E') => sci(a, s.precision.unwrap_or(6), s.alt),
            Some('g' | 'G' | 'n') => general(a, s.precision.unwrap_or(6), s, false),
            None if s.precision.is_some() => general(a, s.precision.unwrap_or(6), s, true),
            None => repr(a, s),
            Some(t) => return Err(format!("format: unknown format code '{t}' for a float")),
        }
    };
    let body = if matches!(s.ty, Some('E' | 'G' | 'F')) {
        body.to_uppercase()
    } else {
        body
    };
    Ok(pad(s, sign_of(neg, s.sign), &body, '>'))
}

/// Fixed point with `p` decimals, grouped as asked.
fn fixed(a: f64, p: usize, s: &Spec) -> String {
    let t = format!("{a:.p$}");
    let t = if s.alt && p == 0 { format!("{t}.") } else { t };
    match s.grouping {
        Some(g) => {
            let (int, frac) = t.split_at(t.find('.').unwrap_or(t.len()));
            format!("{}{frac}", group(int, g, 3))
        }
        None => t,
    }
}

/// Scientific with `p` decimals and a signed exponent of at least two digits.
fn sci(a: f64, p: usize, alt: bool) -> String {
    let t = format!("{a:.p$e}");
    let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let m = if alt && p == 0 {
        format!("{m}.")
    } else {
        m.to_string()
    };
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// `g`: `p` significant digits, fixed or scientific by the exponent, trailing zeros
/// removed (kept with `#`); `plain` (no type, a precision): at least one digit after a
/// fixed point.
fn general(a: f64, p: usize, s: &Spec, plain: bool) -> String {
    let p = p.max(1);
    if a == 0.0 {
        return if s.alt {
            format!("{:.*}", p - 1, 0.0)
        } else if plain {
            "0.0".into()
        } else {
            "0".into()
        };
    }
    let t = format!("{a:.prec$e}", prec = p - 1);
    let exp: i32 = t
        .split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    let p_i = i32::try_from(p).unwrap_or(i32::MAX);
    // Without a type (`.3`), a fixed point needs a digit after it: one digit fewer fits.
    let limit = if plain { p_i - 1 } else { p_i };
    let out = if -4 <= exp && exp < limit {
        let decimals = usize::try_from(p_i - 1 - exp).unwrap_or(0);
        fixed(a, decimals, s)
    } else {
        sci(a, p - 1, s.alt)
    };
    if s.alt {
        return out;
    }
    let (m, e) = match out.split_once('e') {
        Some((m, e)) => (m.to_string(), format!("e{e}")),
        None => (out.clone(), String::new()),
    };
    let m = if m.contains('.') {
        m.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        m
    };
    let m = if plain && e.is_empty() && !m.contains('.') {
        format!("{m}.0")
    } else {
        m
    };
    format!("{m}{e}")
}

/// Python's `repr` of a float: the shortest text that reads back, scientific from 1e16 and
/// below 1e-4.
fn repr(a: f64, s: &Spec) -> String {
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let t = format!("{a:e}");
        let (m, e) = t.split_once('e').unwrap_or((&t, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let t = format!("{a}");
    let t = if t.contains('.') { t } else { format!("{t}.0") };
    match s.grouping {
        Some(g) => {
            let (int, frac) = t.split_at(t.find('.').unwrap_or(t.len()));
            format!("{}{frac}", group(int, g, 3))
        }
        None => t,
    }
}

/// `format(x, spec)` of a string.
pub(crate) fn text(x: &str, spec: &str) -> Result<String, String> {
    let s = parse(spec)?;
    if !matches!(s.ty, None | Some('s')) {
        let t = s.ty.unwrap_or('s');
        return Err(format!("format: unknown format code '{t}' for a string"));
    }
    if s.sign.is_some() {
        return Err("format: sign not allowed in string format specifier".into());
    }
    if s.grouping.is_some() {
        return Err("format: cannot specify ',' with 's'".into());
    }
    if s.align == Some('=') {
        return Err("format: '=' alignment not allowed in string format specifier".into());
    }
    if s.alt {
        return Err("format: alternate form (#) not allowed in string format specifier".into());
    }
    // `0` before the width of a string: zeros after it (Python 3.10 and later).
    let s = if s.zero && s.align.is_none() {
        Spec {
            fill: Some('0'),
            align: Some('<'),
            ..s
        }
    } else {
        s
    };
    let body: String = match s.precision {
        Some(p) => x.chars().take(p).collect(),
        None => x.to_string(),
    };
    Ok(pad(&s, "", &body, '<'))
}

fn sign_of(neg: bool, sign: Option<char>) -> &'static str {
    match (neg, sign) {
        (true, _) => "-",
        (false, Some('+')) => "+",
        (false, Some(' ')) => " ",
        _ => "",
    }
}

/// Digits grouped by `every` from the right with `sep`.
fn group(digits: &str, sep: char, every: usize) -> String {
    let n = digits.chars().count();
    let mut out = String::with_capacity(n + n / every);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(every) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// `sign + body` padded to the width: fill and alignment as given, `0` meaning `=` with
/// zeros, the default alignment `default`.
fn pad(s: &Spec, sign: &str, body: &str, default: char) -> String {
    let len = sign.chars().count() + body.chars().count();
    if len >= s.width {
        return format!("{sign}{body}");
    }
    let (fill, align) = match (s.fill, s.align) {
        (f, Some(a)) => (f.unwrap_or(if s.zero { '0' } else { ' ' }), a),
        (_, None) if s.zero => ('0', '='),
        _ => (' ', default),
    };
    // Zeros padding a grouped number are grouped too (`0=8,` of 1234 is `0,001,234`: it
    // never starts with a separator, so it may pass the width by one).
    if let (Some(g), '0', '=') = (s.grouping, fill, align) {
        let every = if matches!(s.ty, Some('x' | 'X' | 'o' | 'b')) {
            4
        } else {
            3
        };
        // The integer part: digits (hex ones too) and separators, up to a point, an
        // exponent (`e+`, `E-`) or `%`. (A prefix such as `0x` is in `sign`, before it.)
        let b = body.as_bytes();
        let split = (0..b.len())
            .find(|&i| {
                let c = b[i];
                let exponent =
                    matches!(c, b'e' | b'E') && matches!(b.get(i + 1), Some(b'+' | b'-'));
                exponent || !(c.is_ascii_hexdigit() || c == g as u8)
            })
            .unwrap_or(b.len());
        let (int_part, rest) = body.split_at(split);
        let mut digits: String = int_part.chars().filter(|&c| c != g).collect();
        loop {
            let grouped = group(&digits, g, every);
            let total = sign.chars().count() + grouped.chars().count() + rest.chars().count();
            if total >= s.width && !grouped.starts_with(g) {
                return format!("{sign}{grouped}{rest}");
            }
            digits.insert(0, '0');
        }
    }
    let room = s.width - len;
    let run = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
    match align {
        '<' => format!("{sign}{body}{}", run(room)),
        '^' => format!("{}{sign}{body}{}", run(room / 2), run(room - room / 2)),
        '=' => format!("{sign}{}{body}", run(room)),
        _ => format!("{}{sign}{body}", run(room)),
    }
}

#[cfg(test)]
mod tests {
    use super::{float, int, text};

    /// Python's own output for each (value, spec).
    #[test]
    fn matches_pythons_format() {
        let f = |x: f64, s: &str| float(x, s).unwrap();
        let i = |x: i64, s: &str| int(x, s).unwrap();
        assert_eq!(f(0.1, ".2f"), "0.10");
        assert_eq!(f(3.24159, "8.3f"), "   3.242");
        assert_eq!(f(-2.5, "+.1f"), "-2.5");
        assert_eq!(f(1234567.891, ",.2f"), "1,234,567.89");
        assert_eq!(f(0.25, ".1%"), "25.0%");
        assert_eq!(f(12345.678, "e"), "1.234568e+04");
        assert_eq!(f(0.000123, ".2E"), "1.23E-04");
        assert_eq!(f(0.0001, "g"), "0.0001");
        assert_eq!(f(0.00001, "g"), "1e-05");
        assert_eq!(f(123456789.0, "g"), "1.23457e+08");
        assert_eq!(f(100.0, "g"), "100");
        assert_eq!(f(2.0, ""), "2.0");
        assert_eq!(f(1e20, ""), "1e+20");
        assert_eq!(f(0.5, ".3"), "0.5");
        assert_eq!(f(3.0, "08.2f"), "00003.00");
        assert_eq!(f(-3.0, "08.2f"), "-0003.00");
        assert_eq!(f(3.0, "*^9.1f"), "***3.0***");
        assert_eq!(i(255, "x"), "ff");
        assert_eq!(i(255, "#X"), "0XFF");
        assert_eq!(i(5, "b"), "101");
        assert_eq!(i(8, "#o"), "0o10");
        assert_eq!(i(1234567, ","), "1,234,567");
        assert_eq!(i(1234567, "_"), "1_234_567");
        assert_eq!(i(-42, "05d"), "-0042");
        assert_eq!(i(42, "+d"), "+42");
        assert_eq!(i(42, " d"), " 42");
        assert_eq!(i(42, ">6"), "    42");
        assert_eq!(i(42, "<6"), "42    ");
        assert_eq!(i(42, ".2f"), "42.00");
        assert_eq!(i(65, "c"), "A");
        assert_eq!(i(65535, "_x"), "ffff");
        assert_eq!(i(1048575, "_x"), "f_ffff");
        assert_eq!(text("ab", ">5"), Ok("   ab".into()));
        assert_eq!(text("ab", "-^6"), Ok("--ab--".into()));
        assert_eq!(text("abcdef", ".3"), Ok("abc".into()));
        assert_eq!(text("ab", "5"), Ok("ab   ".into()));
        // Python's errors.
        assert!(int(1, ".2d").is_err());
        assert!(float(1.0, "x").is_err());
        assert!(text("a", "+").is_err());
        assert!(text("a", "d").is_err());
        assert!(int(1, "1.").is_err());
        assert!(int(1, "zz").is_err());
    }

    /// Random specs against the real Python, when there is one on the machine (CI has it):
    /// the same text, or both an error.
    #[test]
    fn random_specs_match_python() {
        let Ok(probe) = std::process::Command::new("python3")
            .arg("-c")
            .arg("print(1)")
            .output()
        else {
            return;
        };
        if !probe.status.success() {
            return;
        }
        let mut rng = fastrand::Rng::with_seed(
            std::env::var("FLOW_FORMAT_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(7),
        );
        let mut cases = vec![];
        for _ in 0..600 {
            let fill = ["", "*", "0", " "][rng.usize(..4)];
            let align = ["", "<", ">", "^", "="][rng.usize(..5)];
            let fill = if align.is_empty() { "" } else { fill };
            let sign = ["", "+", "-", " "][rng.usize(..4)];
            let alt = ["", "#"][rng.usize(..2)];
            let zero = ["", "0"][rng.usize(..2)];
            let width = ["", "1", "7", "12"][rng.usize(..4)];
            let grouping = ["", ",", "_"][rng.usize(..3)];
            let prec = ["", ".0", ".2", ".5"][rng.usize(..4)];
            let ty = [
                "", "d", "x", "X", "o", "b", "e", "E", "f", "F", "g", "G", "%", "s",
            ][rng.usize(..14)];
            let spec = format!("{fill}{align}{sign}{alt}{zero}{width}{grouping}{prec}{ty}");
            let value = match rng.usize(..3) {
                0 => format!("{}", rng.i64(-100_000_000..100_000_000)),
                1 => format!("{:?}", (rng.f64() - 0.5) * 10f64.powi(rng.i32(-6..12))),
                _ => ["\"ab\"", "\"\"", "\"héllo\""][rng.usize(..3)].to_string(),
            };
            cases.push((value, spec));
        }
        let program = format!(
            "import sys\nfor v, s in {cases:?}:\n    v = eval(v)\n    try:\n        print(format(v, s))\n    except Exception:\n        print('<error>')\n",
            cases = cases
                .iter()
                .map(|(v, s)| (v.clone(), s.clone()))
                .collect::<Vec<_>>()
        );
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(&program)
            .output()
            .expect("python3 runs");
        let want = String::from_utf8_lossy(&out.stdout);
        let want: Vec<&str> = want.lines().collect();
        assert_eq!(
            want.len(),
            cases.len(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for ((v, s), w) in cases.iter().zip(want) {
            let got = if let Some(t) = v.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
                text(t, s)
            } else if let Ok(n) = v.parse::<i64>() {
                int(n, s)
            } else {
                float(v.parse().unwrap(), s)
            };
            match got {
                Ok(g) => assert_eq!(g, w, "format({v}, {s:?})"),
                Err(e) => assert_eq!("<error>", w, "format({v}, {s:?}): we failed: {e}"),
            }
        }
    }
}
