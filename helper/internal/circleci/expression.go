package circleci

import (
	"fmt"
	"strconv"
	"strings"
)

// EvalExpression evaluates a CircleCI config expression, the form job `filters:` and workflow
// `when`/`unless` accept directly and `<< … >>` accepts elsewhere, for example
// `pipeline.git.branch == "main" or pipeline.git.tag starts-with "release"`.
//
// This subset is supported: pipeline values and `pipeline.parameters.*`, string
// ('…' or "…"), number, true, false and null literals, `==`, `!=`, `<`, `<=`, `>`, `>=`,
// `starts-with`, `not`, `and`, `or` (in rising order of binding: or, and, not, comparison) and
// parentheses. Anything else is an error, never a silent guess.
func EvalExpression(text string, s *Scope) (any, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", text, err)
	}
	p := &exprParser{toks: toks, scope: s}
	v, err := p.or()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: expression %q: %w (supported: ==, !=, <, <=, >, >=, starts-with, not, and, or, parentheses)", s.What, text, err)
	}
	return v, nil
}

type token struct {
	text   string
	quoted bool // a string literal
}

func tokenize(text string) ([]token, error) {
	var toks []token
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(text) && text[j] != c; j++ {
				if text[j] == '\\' && j+1 < len(text) {
					j++
				}
				b.WriteByte(text[j])
			}
			if j >= len(text) {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, token{text: b.String(), quoted: true})
			i = j + 1
		case c == '(' || c == ')':
			toks = append(toks, token{text: string(c)})
			i++
		case strings.ContainsRune("=!<>", rune(c)):
			if i+1 < len(text) && text[i+1] == '=' {
				toks = append(toks, token{text: text[i : i+2]})
				i += 2
			} else if c == '<' || c == '>' {
				toks = append(toks, token{text: string(c)})
				i++
			} else {
				return nil, fmt.Errorf("unknown operator %q", string(c))
			}
		default:
			j := i
			for j < len(text) && (isWordByte(text[j])) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected character %q", string(c))
			}
			toks = append(toks, token{text: text[i:j]})
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty")
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c == '.' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

type exprParser struct {
	toks  []token
	pos   int
	scope *Scope
}

func (p *exprParser) peek(word string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && p.toks[p.pos].text == word
}

func (p *exprParser) or() (any, error) {
	v, err := p.and()
	for err == nil && p.peek("or") {
		p.pos++
		var r any
		r, err = p.and()
		v = logic(v, r, func(a, b bool) bool { return a || b })
	}
	return v, err
}

func (p *exprParser) and() (any, error) {
	v, err := p.not()
	for err == nil && p.peek("and") {
		p.pos++
		var r any
		r, err = p.not()
		v = logic(v, r, func(a, b bool) bool { return a && b })
	}
	return v, err
}

func (p *exprParser) not() (any, error) {
	if p.peek("not") {
		p.pos++
		v, err := p.not()
		if _, unknown := v.(Unknown); unknown {
			return v, err
		}
		return !Truthy(v), err
	}
	return p.comparison()
}

func (p *exprParser) comparison() (any, error) {
	left, err := p.primary()
	if err != nil || p.pos >= len(p.toks) || p.toks[p.pos].quoted {
		return left, err
	}
	op := p.toks[p.pos].text
	switch op {
	case "==", "!=", "<", "<=", ">", ">=", "starts-with":
	default:
		return left, nil
	}
	p.pos++
	right, err := p.primary()
	if err != nil {
		return nil, err
	}
	for _, v := range []any{left, right} {
		if u, unknown := v.(Unknown); unknown {
			return u, nil
		}
	}
	switch op {
	case "==":
		return SameValue(left, right), nil
	case "!=":
		return !SameValue(left, right), nil
	case "starts-with":
		l, lok := left.(string)
		r, rok := right.(string)
		if !lok || !rok {
			return nil, fmt.Errorf("starts-with needs strings, got %s and %s", Describe(left), Describe(right))
		}
		return strings.HasPrefix(l, r), nil
	}
	l, lok := Number(left)
	r, rok := Number(right)
	if !lok || !rok {
		return nil, fmt.Errorf("%s needs numbers, got %s and %s", op, Describe(left), Describe(right))
	}
	switch op {
	case "<":
		return l < r, nil
	case "<=":
		return l <= r, nil
	case ">":
		return l > r, nil
	}
	return l >= r, nil
}

func (p *exprParser) primary() (any, error) {
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("unexpected end")
	}
	t := p.toks[p.pos]
	p.pos++
	if t.quoted {
		return t.text, nil
	}
	switch t.text {
	case "(":
		v, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.peek(")") {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return v, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if strings.HasPrefix(t.text, "pipeline.") {
		return p.scope.Lookup(t.text)
	}
	if n, err := strconv.Atoi(t.text); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(t.text, 64); err == nil {
		return f, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text)
}

// logic combines two operands of and/or; an Unknown operand leaves the result unknown unless
// the known one decides it (false and …, true or …).
func logic(a, b any, op func(a, b bool) bool) any {
	ua, aUnknown := a.(Unknown)
	ub, bUnknown := b.(Unknown)
	switch {
	case aUnknown && bUnknown:
		return ua
	case aUnknown, bUnknown:
		known, u := b, ua
		if bUnknown {
			known, u = a, ub
		}
		if decided := op(Truthy(known), !Truthy(known)); decided == op(Truthy(known), Truthy(known)) {
			// The known operand decides whatever the other is.
			return decided
		}
		return u
	}
	return op(Truthy(a), Truthy(b))
}
