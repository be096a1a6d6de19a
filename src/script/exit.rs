//! `exit(n)` (SPEC §3): ends the script with status n. Rhai cannot stop a script from a
//! function, so `exit` raises a Rhai runtime error carrying an [`ExitRequest`]; the runtime
//! recognises it with [`requested`] and ends the script normally with that status.

use rhai::{Dynamic, Engine, EvalAltResult, Position, INT};

/// The value of the Rhai error that `exit(n)` raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ExitRequest(pub(crate) u8);

/// Register `exit(n)` and `exit()` on `e`.
pub(crate) fn register(e: &mut Engine) {
    e.register_type_with_name::<ExitRequest>("exit_request");
    e.register_fn("to_string", |x: &mut ExitRequest| format!("exit({})", x.0));
    e.register_fn("to_debug", |x: &mut ExitRequest| format!("exit({})", x.0));
    e.register_fn("exit", |n: INT| exit(n));
    e.register_fn("exit", || exit(0));
}

fn exit(n: INT) -> Result<(), Box<EvalAltResult>> {
    let value = match u8::try_from(n) {
        Ok(status) => Dynamic::from(ExitRequest(status)),
        Err(_) => Dynamic::from(format!("exit({n}): the status must be 0 to 255")),
    };
    Err(Box::new(EvalAltResult::ErrorRuntime(value, Position::NONE)))
}

/// The status asked for, if `e` is (or wraps, through `fn` calls) an `exit(n)`.
pub(crate) fn requested(e: &EvalAltResult) -> Option<u8> {
    let mut inner = e;
    while let EvalAltResult::ErrorInFunctionCall(_, _, next, _) = inner {
        inner = next;
    }
    match inner {
        EvalAltResult::ErrorRuntime(v, _) => v.read_lock::<ExitRequest>().map(|x| x.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_is_recognised_through_fn_calls() {
        let mut e = Engine::new();
        register(&mut e);
        let err = e.run("fn f(n) { exit(n) } f(3)").unwrap_err();
        assert_eq!(requested(&err), Some(3));
        let err = e.run("exit()").unwrap_err();
        assert_eq!(requested(&err), Some(0));
        let err = e.run("exit(256)").unwrap_err();
        assert_eq!(requested(&err), None);
        assert!(err.to_string().contains("0 to 255"), "{err}");
        let err = e.run("throw 1").unwrap_err();
        assert_eq!(requested(&err), None);
    }
}
