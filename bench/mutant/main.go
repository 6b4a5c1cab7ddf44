// Command mutant applies one of gremlins' mutations to a Go source file in
// place, the way gremlins does, so bench/mutation.sh can test a sample of
// a package's mutants instead of all of them:
//
//	mutant FILE LINE COL TYPE
//
// LINE and COL are where gremlins' dry run says the token is (1-based, COL
// in bytes); TYPE is its mutation type. It prints the mutated line.
package main

import (
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"strconv"
)

// swaps are gremlins' (v0.6.0) default mutators: which token becomes which.
var swaps = map[string]map[token.Token]token.Token{
	"ARITHMETIC_BASE": {token.ADD: token.SUB, token.SUB: token.ADD, token.MUL: token.QUO,
		token.QUO: token.MUL, token.REM: token.MUL},
	"CONDITIONALS_BOUNDARY": {token.LSS: token.LEQ, token.LEQ: token.LSS, token.GTR: token.GEQ,
		token.GEQ: token.GTR},
	"CONDITIONALS_NEGATION": {token.EQL: token.NEQ, token.NEQ: token.EQL, token.LSS: token.GEQ,
		token.LEQ: token.GTR, token.GTR: token.LEQ, token.GEQ: token.LSS},
	"INCREMENT_DECREMENT": {token.INC: token.DEC, token.DEC: token.INC},
	"INVERT_NEGATIVES":    {token.SUB: token.ADD},
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: mutant FILE LINE COL TYPE")
		os.Exit(2)
	}
	if err := apply(os.Args[1], os.Args[2], os.Args[3], os.Args[4]); err != nil {
		fmt.Fprintln(os.Stderr, "mutant:", err)
		os.Exit(1)
	}
}

func apply(file, lineArg, colArg, typ string) error {
	line, err1 := strconv.Atoi(lineArg)
	col, err2 := strconv.Atoi(colArg)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad position %s:%s", lineArg, colArg)
	}
	swap, ok := swaps[typ]
	if !ok {
		return fmt.Errorf("unknown mutation type %s", typ)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	f := fset.AddFile(file, -1, len(src))
	var s scanner.Scanner
	s.Init(f, src, nil, 0)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			return fmt.Errorf("%s:%d:%d: no token there", file, line, col)
		}
		p := fset.Position(pos)
		if p.Line != line || p.Column != col {
			continue
		}
		to, ok := swap[tok]
		if !ok {
			return fmt.Errorf("%s:%d:%d: %s cannot be mutated by %s", file, line, col, tokText(tok, lit), typ)
		}
		off := p.Offset
		out := append([]byte{}, src[:off]...)
		out = append(out, to.String()...)
		out = append(out, src[off+len(tok.String()):]...)
		if err := os.WriteFile(file, out, 0o644); err != nil {
			return err
		}
		lines := bytes.Split(out, []byte("\n"))
		fmt.Println(string(bytes.TrimSpace(lines[line-1])))
		return nil
	}
}

func tokText(tok token.Token, lit string) string {
	if lit != "" {
		return lit
	}
	return tok.String()
}
