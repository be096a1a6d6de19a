" Detect flow scripts: *.flow files, and files whose first line is a flow shebang.
autocmd BufNewFile,BufRead *.flow setfiletype flow
autocmd BufNewFile,BufRead * if getline(1) =~# '^#!.*\<flow\>' | setfiletype flow | endif
