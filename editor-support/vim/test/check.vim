" Checks the Vim syntax with real Vim: for each case of cases.tsv (snippet, text, syntax
" group), the group must be on the syntax stack of the text's first character (`!group`: must
" not be). Run by run.sh; writes the failures to g:out.
set nocompatible
let &runtimepath = g:root . ',' . &runtimepath
syntax on
let s:fails = []
let s:n = 0
for s:case in readfile(g:cases)
  if s:case =~# '^#' || s:case ==# ''
    continue
  endif
  let [s:snip, s:needle, s:want] = split(s:case, "\t")
  let s:n += 1
  silent %delete _
  call setline(1, split(s:snip, '\\n', 1))
  set syntax=flow
  syntax sync fromstart
  call cursor(1, 1)
  let s:nth = 1
  let s:m = matchlist(s:needle, '^\(.*\)#\(\d\+\)$')
  if !empty(s:m)
    let [s:needle, s:nth] = [s:m[1], str2nr(s:m[2])]
  endif
  let s:pos = [0, 0]
  for s:i in range(s:nth)
    let s:pos = searchpos('\V' . escape(s:needle, '\'), s:i == 0 ? 'cW' : 'W')
  endfor
  if s:pos[0] == 0
    call add(s:fails, 'not found: ' . s:case)
    continue
  endif
  let s:names = map(synstack(s:pos[0], s:pos[1]), 'synIDattr(v:val, "name")')
  let s:neg = s:want[0] ==# '!'
  let s:group = s:neg ? s:want[1:] : s:want
  if (index(s:names, s:group) >= 0) == s:neg
    call add(s:fails, s:case . '  →  ' . join(s:names, ' '))
  endif
endfor
call add(s:fails, 'checked ' . s:n)
call writefile(s:fails, g:out)
qall!
