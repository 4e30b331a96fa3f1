package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	orchestratorv1 "github.com/vdsproject/vds/gen/vds/orchestrator/v1"
)

// TestConcurrentQuestionsKeepAskedOrder: two questions sent to one conversation at the same time,
// the first held (its planner waits) until the second has been answered, are stored and listed in
// the order they were sent, each exchange with the sequence number its question got on arrival —
// not in the order they finished.
func TestConcurrentQuestionsKeepAskedOrder(t *testing.T) {
	ref := dataset(t, "tabular/tips.csv")
	conv := llmConversation(t, ref)
	q1, q2 := "order: the question sent first, answered last", "order: the question sent second, answered first"
	arrived, release := make(chan struct{}), make(chan struct{})
	llm.mu.Lock()
	llm.scripts[q1] = []func(map[string]any) (int, any){func(map[string]any) (int, any) {
		close(arrived)
		<-release
		return 200, reply("The answer to the first question.")
	}}
	llm.scripts[q2] = []func(map[string]any) (int, any){func(map[string]any) (int, any) {
		return 200, reply("The answer to the second question.")
	}}
	llm.mu.Unlock()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	send := func(q string) error {
		st, err := cl.Orchestrator.SendMessage(ctx, &orchestratorv1.SendMessageRequest{ConversationId: conv, Text: q})
		if err != nil {
			return err
		}
		for {
			if _, err := st.Recv(); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return err
			}
		}
	}
	first := make(chan error, 1)
	go func() { first <- send(q1) }()
	select {
	case <-arrived: // the first question has its place and waits in its planner
	case err := <-first:
		t.Fatalf("the first question ended early: %v", err)
	case <-ctx.Done():
		t.Fatal("the first question did not reach its planner")
	}
	if err := send(q2); err != nil {
		t.Fatalf("second question: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first question: %v", err)
	}

	got, err := cl.Orchestrator.GetConversation(ctx, &orchestratorv1.GetConversationRequest{ConversationId: conv})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range got.Conversation.Messages {
		order = append(order, fmt.Sprintf("%s#%d:%s", m.Role, m.Sequence, m.Text))
	}
	// (The answers go on with a note that no tool ran.)
	want := []string{"user#1:" + q1, "assistant#1:The answer to the first question.", "user#2:" + q2, "assistant#2:The answer to the second question."}
	ok := len(order) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.HasPrefix(order[i], want[i])
	}
	if !ok {
		t.Errorf("stored:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
	if got.Conversation.LastSequence != 2 {
		t.Errorf("last_sequence %d, want 2", got.Conversation.LastSequence)
	}
}
