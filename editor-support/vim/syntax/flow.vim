" Vim syntax file
" Language:    flow (concurrent pipelines; see docs/language.md)
" Filenames:   *.flow, or a first line `#!/usr/bin/env flow`

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

syn case match
" `.`, `/` and `-` are word characters, so that `data/access.log` or `/tmp/map` holds no keyword.
syn iskeyword @,48-57,_,.,/,-

" Statement keywords
syn keyword flowStatement  fn let spawn daemon join cancel on_interrupt grace try catch finally throw settle select
syn keyword flowConditional if else
syn keyword flowRepeat     for in
" Sources and stages
syn keyword flowSource     from
syn keyword flowStage      map filter each flat_map take batch sort by uniq lines json to_json into
syn keyword flowSink       count count_by sum first last collect text reduce
" Pools and their options
syn keyword flowPool       pool exec cpus
syn keyword flowPoolOpt    ordered unordered chunk retries backoff timeout on_error progress log resume
syn keyword flowPoolOpt    on slurm partition mem time
" `skip` is a match, so that `on_error skip` (a later match) can win over it.
syn match   flowStage      "\<skip\>"
syn match   flowOnError    "\%(\<on_error\s\+\)\@<=\%(fail\|continue\|skip\|keep\)\>"
" Command modifiers
syn keyword flowModifier   unchecked sh
syn match   flowCaret      "\^\ze\S"
" The special variables `it`, `acc` and `args`, and the constants
syn match   flowSpecial    "\%([[:alnum:]_./-]\)\@<!\%(it\|acc\|args\|seq\|slot\|attempt\)[[:alnum:]_]\@!"
syn keyword flowBoolean    true false

" Commands: the program word at the start of a statement or stage, and after `exec`,
" `unchecked` and `^` (a keyword there stays a keyword: keywords win in Vim). Not a call
" `f(`, a Rhai statement `xs.push(`/`m[` or an assignment `x = `.
syn match   flowCommand    #\%(\%(^\|[;{]\|\%(^\|[^|]\)|\|\*/\)\s*\%(\h\w*=\S*\s\+\)*\)\@<=\%(\h\w*\s*\%((\|[.[]\w\|[-+*/]\==\s\|=\)\)\@!\%(//\|/\*\)\@![[:alnum:]_./~+-][^[:space:]|;{}()<>"'`$=]*#
syn match   flowCommand    #\%(\<exec\s\+\|\<unchecked\s\+\|\^\s*\)\@<=[[:alnum:]_./~+-][^[:space:]|;{}()<>"'`$=]*#
syn match   flowCommand    #\%(=\s*\)\@<=\%(\h\w*\s*(\)\@![[:alnum:]_./~+-][^[:space:]|;{}()<>"'`$=]*\ze.*[^|]|\%([^|]\|$\)#

" Environment assignment for one command: `LC_ALL=C cmd`
syn match   flowEnvAssign  "\<\h\w*=\ze\S"

" Numbers and durations
syn match   flowNumber     "[[:alnum:]_.]\@<!\d\+\%(\.\d\+\)\=[[:alnum:]_]\@!"
syn match   flowDuration   "[[:alnum:]_.]\@<!\d\+\%(\.\d\+\)\=\%(ms\|s\|m\|h\)[[:alnum:]_]\@!"

" Pipes and redirects
syn match   flowPipe       "|"
syn match   flowOperator   "||\|&&"
syn match   flowRedirect   "2>&1\|2>>\|2>\|>>\|>\|<"

" Interpolation: `$name` and `${ expr }`
syn match   flowVar        "\$\h\w*"
syn region  flowInterp     matchgroup=flowInterpDelim start="\${" end="}" contains=@flowRhai contained
syn region  flowInterpTop  matchgroup=flowInterpDelim start="\${" end="}" contains=@flowRhai
syn cluster flowRhai       contains=flowNumber,flowDString,flowSString,flowBacktick,flowBoolean,flowSpecial,flowNested,flowOperator,flowRhaiKeyword,flowComment

" Rhai code: blocks in value positions (after a stage, a pool size, `reduce INIT`, `from`,
" `=`), `fn` bodies and call arguments. flow's stage keywords are plain names there.
syn keyword flowRhaiKeyword contained let const if else switch do while loop until for in continue break return throw try catch fn
syn region  flowRhaiBlock  matchgroup=flowDelimiter start="\%(\<\%(map\|filter\|each\|flat_map\|by\|take\|skip\|batch\|chunk\|retries\|pool\|from\)\s*\|\<reduce\s\+[^{|]*\|=\s*\)\@<={" end="}" contains=@flowRhai
syn region  flowFnBody     matchgroup=flowDelimiter start="\%(\<fn\s\+\h\w*\s*([^)]*)\s*\)\@<={" end="}" contains=@flowRhai
syn region  flowCallArgs   matchgroup=flowDelimiter start="\%(\h\w*\)\@<=(" end=")" contains=@flowRhai,flowCallArgsNested
syn region  flowCallArgsNested start="(" end=")" contained transparent contains=@flowRhai,flowCallArgsNested

" Strings: "double" with escapes and interpolation, 'single' raw, `rhai template`
syn match   flowEscape     "\\." contained
syn region  flowDString    start=+"+ skip=+\\.+ end=+"+ contains=flowEscape,flowVar,flowInterp
syn region  flowSString    start=+'+ end=+'+
syn region  flowBacktick   start=+`+ skip=+\\.+ end=+`+ contains=flowEscape,flowInterp
syn region  flowNested     start="{" end="}" contained transparent contains=@flowRhai

" Comments: `//` only at the start of a word (so `http://x` is not one), and /* … */
syn keyword flowTodo       TODO FIXME XXX NOTE contained
syn match   flowComment    "\%(^\|\s\)\zs//.*$" contains=flowTodo,@Spell
syn region  flowComment    start="/\*" end="\*/" contains=flowTodo,@Spell
syn match   flowShebang    "\%^#!.*$"

" Function definitions
syn match   flowFnName     "\%(\<fn\s\+\)\@<=\h\w*"

hi def link flowStatement    Statement
hi def link flowConditional  Conditional
hi def link flowRepeat       Repeat
hi def link flowSource       Keyword
hi def link flowStage        Function
hi def link flowSink         Function
hi def link flowPool         Keyword
hi def link flowPoolOpt      Type
hi def link flowModifier     StorageClass
hi def link flowCaret        Special
hi def link flowSpecial      Identifier
hi def link flowBoolean      Boolean
hi def link flowEnvAssign    Identifier
hi def link flowNumber       Number
hi def link flowDuration     Number
hi def link flowPipe         Operator
hi def link flowOperator     Operator
hi def link flowRedirect     Operator
hi def link flowVar          Identifier
hi def link flowInterpDelim  Delimiter
hi def link flowEscape       SpecialChar
hi def link flowDString      String
hi def link flowSString      String
hi def link flowBacktick     String
hi def link flowTodo         Todo
hi def link flowComment      Comment
hi def link flowShebang      PreProc
hi def link flowFnName       Function
hi def link flowCommand      Function
hi def link flowOnError      Constant
hi def link flowRhaiKeyword  Statement
hi def link flowDelimiter    Delimiter

let b:current_syntax = 'flow'

let &cpo = s:cpo_save
unlet s:cpo_save
