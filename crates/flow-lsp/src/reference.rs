//! The one-line reference of every keyword, pool option and built-in, shown on hover and
//! beside completions.

/// What a reference entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    Keyword,
    PoolOption,
    Builtin,
}

use Category::{Builtin, Keyword, PoolOption};

/// `(word, category, one line)`.
pub(crate) const REFERENCE: &[(&str, Category, &str)] = &[
    ("fn", Keyword, "`fn name(params) { rhai }`: a Rhai function, visible everywhere; it sees only its parameters"),
    ("let", Keyword, "`let name = value`: binds a script variable (a pipeline binds its collected output)"),
    ("from", Keyword, "`from value | …`: a pipeline's source (array, range, string, channel, `lines(path)`)"),
    ("spawn", Keyword, "`spawn { … }` / `spawn pipeline`: starts a task concurrently and returns its handle"),
    ("daemon", Keyword, "`spawn daemon …`: a task not waited for at the end of the script; cancelled instead"),
    ("join", Keyword, "`join a, b timeout D`: waits for tasks and yields their values"),
    ("cancel", Keyword, "`cancel h` · `cancel a, b`: cancels each task and everything it started"),
    ("timeout", Keyword, "`timeout D`: a time limit, for `join` or per pool item (it fails the item)"),
    ("on_interrupt", Keyword, "`on_interrupt grace D { … }`: runs on Ctrl-C/SIGTERM after every stage is stopped"),
    ("grace", Keyword, "`grace D`: how long stopped processes get before SIGKILL (default 2s)"),
    ("if", Keyword, "`if cond { … } else { … }`; `if ^cmd args { … }` takes the branch when cmd exits 0"),
    ("else", Keyword, "`else { … }` / `else if …`: the other branch of an `if`"),
    ("for", Keyword, "`for x in expr { … }`: a sequential loop"),
    ("in", Keyword, "`for x in expr`: what a `for` loop goes over"),
    ("try", Keyword, "`try { … } catch e { … } finally { … }`: catches a run error; `e` has code, message, exit, line, value"),
    ("catch", Keyword, "`catch e { … }`: handles the error of a `try` block"),
    ("select", Keyword, "`select { from a as x => { … } from b as y => { … } timeout 1s => { … } }`: the first channel with an item (Go's select)"),
    ("settle", Keyword, "`join a, b settle`: every task's outcome as `#{ok, value}` or `#{ok, error}`, never raising"),
    ("finally", Keyword, "`finally { … }`: runs on every way out of its `try` (success, error, `cancel`, Ctrl-C)"),
    ("throw", Keyword, "`throw expr`: fails the script (exit 1) with the expression's text as message"),
    ("unchecked", Keyword, "`unchecked cmd …`: accept any exit status of this command"),
    ("sh", Keyword, "`sh \"…\"`: the one way to get a shell; interpolated values are shell-quoted"),
    ("pool", Keyword, "`pool N map F` / `pool N exec cmd …`: N parallel workers (default: the number of CPUs)"),
    ("exec", Keyword, "`pool N exec cmd ${it}`: one command (or `{ pipeline }`) per item; its stdout is the output"),
    ("map", Keyword, "`map F`: one output per item, `F(it)` (a one-parameter fn or a block using `it`)"),
    ("filter", Keyword, "`filter F`: keeps the items for which `F(it)` is true"),
    ("flat_map", Keyword, "`flat_map F`: `F(it)` returns an array; its elements flow on"),
    ("each", Keyword, "`each F`: calls `F(it)` for its effect; passes nothing on"),
    ("take", Keyword, "`take N`: the first N items; stops upstream early"),
    ("skip", Keyword, "`skip N`: all items but the first N"),
    ("batch", Keyword, "`batch N`: groups items into arrays of N (the last may be shorter)"),
    ("sort", Keyword, "`sort` / `sort by F`: a stable whole-stream sort"),
    ("by", Keyword, "`sort by F`: sorts by the key `F(it)`"),
    ("uniq", Keyword, "`uniq`: drops adjacent duplicates"),
    ("lines", Keyword, "`lines` / `lines SEP`: bytes to line items (`lines \"\\0\"` for NUL-delimited records)"),
    ("json", Keyword, "`json`: parses each line as JSON into a value"),
    ("to_json", Keyword, "`to_json`: formats each value as one JSON line"),
    ("into", Keyword, "`into CH`: sends every item into channel CH (a sink)"),
    ("count", Keyword, "`count`: a sink; the number of items"),
    ("count_by", Keyword, "`count_by { key }`: a sink; a map from each key (as text) to how many items gave it"),
    ("sum", Keyword, "`sum`: a sink; the sum of the items"),
    ("first", Keyword, "`first`: a sink; the first item (stops upstream)"),
    ("last", Keyword, "`last`: a sink; the last item"),
    ("collect", Keyword, "`collect`: a sink; the items as an array"),
    ("text", Keyword, "`text`: a sink; the items joined with newlines"),
    ("reduce", Keyword, "`reduce INIT F`: a sink; folds the items, `F` sees `acc` and `it`"),
    ("it", Keyword, "`it`: the current item, in stages, pool jobs and callables"),
    ("acc", Keyword, "`acc`: the accumulator, in a `reduce` block"),
    ("seq", Keyword, "`seq`: the item's 1-based position in a pool's input (GNU parallel's `{#}`)"),
    ("slot", Keyword, "`slot`: the pool worker's number, 1..N (GNU parallel's `{%}`)"),
    ("attempt", Keyword, "`attempt`: which try of the item this is, 1, 2, … with `retries` (Nextflow's `task.attempt`)"),
    ("ordered", PoolOption, "`ordered` (default): a pool emits results in input order"),
    ("unordered", PoolOption, "`unordered`: a pool emits results as they finish"),
    ("chunk", PoolOption, "`chunk K`: K items per job (`${it}` as a whole word expands to all K)"),
    ("retries", PoolOption, "`retries R`: tries a failed item up to R more times; `retries R backoff D` waits D, 2D, 4D… between tries"),
    ("backoff", PoolOption, "`retries R backoff D`: waits D, 2D, 4D… before each retry"),
    ("on_error", PoolOption, "`on_error fail|continue|skip|keep`: stop at the first failure (default), run all then fail, drop failures, or keep `#{error: e}` in a failed item's place; `fail N`, `fail N%`, `fail … soon`: a threshold (GNU parallel's --halt)"),
    ("progress", PoolOption, "`progress`: a progress bar on stderr when it is a terminal"),
    ("log", PoolOption, "`log \"jobs.tsv\"`: one TSV row per finished item"),
    ("resume", PoolOption, "`resume`: with `log`, skips items that already succeeded in that log"),
    ("cpus", PoolOption, "`cpus()`, `pool cpus …`: the number of usable CPUs (a pool's default size)"),
    ("print", Builtin, "`print(x)`: a line on stdout (never interleaved mid-line)"),
    ("eprint", Builtin, "`eprint(x)`: a line on stderr"),
    ("sleep", Builtin, "`sleep(seconds)`: sleeps (int or float); cancellation interrupts it"),
    ("env", Builtin, "`env(name)`: an environment variable, or `()` when unset"),
    ("glob", Builtin, "`glob(pattern)`: the sorted array of matching paths"),
    ("read_file", Builtin, "`read_file(path)`: a small file's text"),
    ("write_file", Builtin, "`write_file(path, text)`: writes a small file"),
    ("exists", Builtin, "`exists(path)`: true when the path exists"),
    ("run", Builtin, "`run(cmd, [args…])`: runs a command (no shell), returns its stdout; non-zero exit is an error"),
    ("group_by", Builtin, "`xs.group_by(|x| key)`: a map from each key to its items, in input order (SQL's GROUP BY)"),
    ("group_tuple", Builtin, "`group_tuple(xs)`: `[k, v]` tuples to `[k, [v, …]]` per key, keys in first-seen order (Nextflow's groupTuple)"),
    ("join_by", Builtin, "`join_by(left, right)`: tuples matched by their first element, `[k, a…, b…]`, in the left's order (Nextflow's join)"),
    ("status", Builtin, "`status(cmd, [args…])`: runs a command (no shell) and returns `#{code, signal, stdout, stderr}` whatever its exit status; one that cannot start is an error"),
    ("format", Builtin, "`format(x, spec)`: `x` formatted by Python's format-spec mini-language: `format(0.1, \".2f\")` is `0.10`; `\">8\"`, `\",\"`, `\"x\"`, `\"08b\"`, `\".1%\"`"),
    ("now", Builtin, "`now()`: seconds on a monotonic clock (a float), for elapsed time: `let t0 = now()` … `now() - t0`"),
    ("basename", Builtin, "`basename(p)`: `a/b/c.tar.gz` → `c.tar.gz`"),
    ("dirname", Builtin, "`dirname(p)`: `a/b/c.tar.gz` → `a/b`"),
    ("no_ext", Builtin, "`no_ext(p)`: `a/b/c.tar.gz` → `a/b/c.tar`"),
    ("stem", Builtin, "`stem(p)`: `a/b/c.tar.gz` → `c.tar`"),
    ("ext", Builtin, "`ext(p)`: `a/b/c.tar.gz` → `gz`"),
    ("exit", Builtin, "`exit(n)`: ends the script with status n after the normal end-of-script work"),
    ("channel", Builtin, "`channel(n)`: a bounded channel of capacity n, for tasks"),
    ("args", Builtin, "`args`: the script's command-line arguments, an array of strings"),
];

/// The one line about `word`, if it is in the reference.
pub(crate) fn describe(word: &str) -> Option<(Category, &'static str)> {
    REFERENCE
        .iter()
        .find(|(w, _, _)| *w == word)
        .map(|(_, c, line)| (*c, *line))
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn every_checker_keyword_has_a_line() {
        for k in flow_syntax::vocabulary::KEYWORDS {
            assert!(describe(k).is_some(), "no reference line for `{k}`");
        }
    }
}
