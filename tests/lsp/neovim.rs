//! `editor-support/nvim/flow-lsp.lua` in a real Neovim: headless, the snippet sourced as the
//! README says, a script with an error opened, and the server's diagnostic read back. Runs
//! where Neovim is promised (`FLOW_REQUIRE_NVIM=1`: CI installs Debian's, 0.7.2, the oldest
//! the snippet supports); elsewhere it is reported as ignored.

#[test]
#[cfg_attr(
    not(flow_nvim),
    ignore = "needs Neovim: build the tests with FLOW_REQUIRE_NVIM=1"
)]
fn neovim_shows_the_servers_diagnostics() {
    let root = crate::harness::repo_root();
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("bad.flow"), "ls |\n").expect("write the script");
    let out = dir.path().join("out.txt");
    let check = dir.path().join("check.lua");
    std::fs::write(
        &check,
        "local ok = vim.wait(15000, function() return #vim.diagnostic.get(0) > 0 end, 50)\n\
         local f = io.open(vim.g.flow_out, 'w')\n\
         if ok then f:write(vim.diagnostic.get(0)[1].message) else f:write('no diagnostic') end\n\
         f:close()\n\
         vim.cmd('qa!')\n",
    )
    .expect("write the check");
    let flow = std::path::Path::new(env!("CARGO_BIN_EXE_flow"));
    let status = std::process::Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE"])
        .arg("--cmd")
        .arg(format!("let g:flow_out = '{}'", out.display()))
        .arg("--cmd")
        .arg(format!("let g:flow_path = '{}'", flow.display()))
        .arg("-c")
        .arg(format!(
            "luafile {}",
            root.join("editor-support/nvim/flow-lsp.lua").display()
        ))
        .args(["-c", "edit bad.flow", "-c", "set filetype=flow", "-c"])
        .arg(format!("luafile {}", check.display()))
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .status()
        .expect("start nvim");
    assert!(status.success(), "nvim: {status}");
    let said = std::fs::read_to_string(&out).expect("the check's result");
    assert!(
        said.contains("a `|` must stand between two stages"),
        "{said}"
    );
}
