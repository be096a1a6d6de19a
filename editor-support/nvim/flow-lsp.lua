-- The flow language server for Neovim 0.7 and later, without plugins: `flow lsp` starts for
-- the first flow buffer and every flow buffer attaches to it. Source it from init.lua:
--   dofile('/path/to/flow/editor-support/nvim/flow-lsp.lua')
-- (`vim.g.flow_path` names another flow binary.) Highlighting is the Vim syntax in ../vim.
local client_id

local function attach(buf)
  local cmd = { vim.g.flow_path or 'flow', 'lsp' }
  if vim.lsp.start then
    -- 0.8 and later: starts the server once and attaches the buffer.
    vim.lsp.start({ name = 'flow', cmd = cmd, root_dir = vim.fn.getcwd() })
    return
  end
  -- 0.7 (Debian 12's): no vim.lsp.start yet.
  if not client_id or not vim.lsp.get_client_by_id(client_id) then
    client_id = vim.lsp.start_client({ name = 'flow', cmd = cmd, root_dir = vim.fn.getcwd() })
  end
  if client_id then
    vim.lsp.buf_attach_client(buf, client_id)
  end
end

vim.api.nvim_create_autocmd('FileType', {
  pattern = 'flow',
  callback = function(args)
    attach(args.buf)
  end,
})
