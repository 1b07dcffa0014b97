package main

import (
	"slices"
	"testing"
	"time"
)

func TestRotateGivesEveryToolEveryPlace(t *testing.T) {
	names := []string{"shipgate", "regctl", "crane"}
	first := map[string]int{}
	for r := 0; r < 6; r++ {
		order := rotate(names, r)
		if got := slices.Sorted(slices.Values(order)); !slices.Equal(got, []string{"crane", "regctl", "shipgate"}) {
			t.Fatalf("round %d runs %v, want each tool once", r, order)
		}
		first[order[0]]++
	}
	for _, n := range names {
		if first[n] != 2 {
			t.Errorf("%s first in %d of 6 rounds, want 2 (%v)", n, first[n], first)
		}
	}
	if !slices.Equal(names, []string{"shipgate", "regctl", "crane"}) {
		t.Errorf("rotate changed its argument: %v", names)
	}
}

func TestMedianMin(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, c := range []struct {
		in   []time.Duration
		want string
	}{
		{ms(300, 100, 200), "200 (100)"},
		{ms(5), "5 (5)"},
		{ms(9, 1, 7, 3, 5), "5 (1)"},
	} {
		if got := medianMin(c.in); got != c.want {
			t.Errorf("medianMin(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseSizesSkipsWhatIsNotAPositiveNumber(t *testing.T) {
	if got := parseSizes(" 1, 10,x,0,-3,100"); !slices.Equal(got, []int{1, 10, 100}) {
		t.Errorf("parseSizes = %v, want [1 10 100]", got)
	}
	if got := parseSizes("0"); len(got) != 0 {
		t.Errorf("parseSizes(0) = %v, want none", got)
	}
}
