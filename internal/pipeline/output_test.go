package pipeline

import (
	"bytes"
	"testing"
)

func TestSequence(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	seq := newSequence(3)
	out := func(i int) (o, e func(string)) {
		l := seq.lanes[i]
		return func(s string) { l.Writer(&stdout).Write([]byte(s)) }, func(s string) { l.Writer(&stderr).Write([]byte(s)) }
	}
	o0, e0 := out(0)
	o1, e1 := out(1)
	o2, e2 := out(2)
	check := func(step, wantOut, wantErr string) {
		t.Helper()
		if stdout.String() != wantOut || stderr.String() != wantErr {
			t.Fatalf("after %s: stdout %q, stderr %q; want %q, %q", step, stdout.String(), stderr.String(), wantOut, wantErr)
		}
	}

	o1("1a ")
	e2("2a ")
	o0("0a ")
	e0("0b ")
	check("writes of all lanes", "0a ", "0b ")
	if direct(seq.lanes[0].Writer(&stderr)) != &stderr || direct(seq.lanes[1].Writer(&stderr)) == &stderr {
		t.Error("direct: want the stream itself for the current lane only")
	}

	e1("1b ")
	seq.lanes[2].Close() // done before its turn: held until lane 1 closes
	seq.lanes[0].Close()
	check("lane 0 closed", "0a 1a ", "0b 1b ")
	o1("1c ")
	check("lane 1 current", "0a 1a 1c ", "0b 1b ")
	if direct(seq.lanes[1].Writer(&stdout)) != &stdout {
		t.Error("direct: lane 1 is current now")
	}

	seq.lanes[1].Close()
	check("lane 1 closed: lane 2's held output follows", "0a 1a 1c ", "0b 1b 2a ")
	seq.lanes[1].Close() // twice: nothing
	o2("2b ")
	check("all closed: writes go through", "0a 1a 1c 2b ", "0b 1b 2a ")
}

func TestSequenceNested(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	images := newSequence(2)
	prod, dev := images.lanes[0].Writer(&out), images.lanes[1].Writer(&out)
	platforms := newSequence(2)
	devAmd, devArm := platforms.lanes[0].Writer(dev), platforms.lanes[1].Writer(dev)

	devArm.Write([]byte("dev arm64 "))
	devAmd.Write([]byte("dev amd64 "))
	prod.Write([]byte("prod "))
	if direct(devAmd) == &out {
		t.Error("direct: dev's lane is not current while prod's is open")
	}
	platforms.lanes[0].Close()
	platforms.lanes[1].Close()
	images.lanes[0].Close()
	if got, want := out.String(), "prod dev amd64 dev arm64 "; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if direct(devAmd) != &out {
		t.Error("direct: every lane on the way is current now")
	}
}
