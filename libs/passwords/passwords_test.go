package passwords

import "testing"

func TestHashVerify(t *testing.T) {
	p := Params{Memory: 1024, Time: 1, Threads: 1}
	h, err := Hash("correct horse", p)
	if err != nil {
		t.Fatal(err)
	}
	if ok, re, err := Verify("correct horse", h, p); !ok || re || err != nil {
		t.Fatalf("Verify right = %v %v %v", ok, re, err)
	}
	if ok, _, _ := Verify("correct horsE", h, p); ok {
		t.Fatal("wrong password accepted")
	}
	if ok, re, _ := Verify("correct horse", h, Params{Memory: 2048, Time: 1, Threads: 1}); !ok || !re {
		t.Fatalf("changed params should ask for a rehash: ok=%v rehash=%v", ok, re)
	}
	if _, _, err := Verify("x", "$bcrypt$...", p); err == nil {
		t.Fatal("foreign hash accepted")
	}
}
