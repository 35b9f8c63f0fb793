package watches

import "testing"

func TestTheListHoldsUniqueCompleteDescriptors(t *testing.T) {
	if err := All().Check(); err != nil {
		t.Fatal(err)
	}
	if len(All()) == 0 {
		t.Fatal("no watch")
	}
}
