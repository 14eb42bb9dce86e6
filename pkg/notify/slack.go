package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Block Kit's limits (api.slack.com/reference/block-kit/blocks).
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldMax   = 2000
)

// SlackMessage is an incoming webhook's body: a fallback text and Block Kit
// blocks.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a header, section or context block.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Fields   []SlackText `json:"fields,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a text object: plain_text or mrkdwn.
type SlackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

var slackEmoji = map[string]string{
	"deployed": ":package:", "verified": ":white_check_mark:", "promoted": ":rocket:",
	"rolled-back": ":rewind:", "aborted": ":no_entry_sign:", "decommissioned": ":wastebasket:", "failed": ":x:",
}

// Slack is the incoming webhook message for ev.
func Slack(ev Event) SlackMessage {
	head := fmt.Sprintf("%s %s: %s", slackEmoji[ev.Type], ev.App, ev.Type)
	if ev.Release != nil {
		head += " " + ev.Release.Version
	}
	body := "*" + mrkdwn(ev.Summary) + "*"
	if ev.Reason != "" {
		body += "\n```" + strings.ReplaceAll(mrkdwn(ev.Reason), "```", "'''") + "```"
	}
	fields := []SlackText{field("App", ev.App), field("Namespace", ev.Namespace)}
	if r := ev.Release; r != nil {
		fields = append(fields, field("Release", r.Version+" ("+r.Color+")"), field("Release id", r.ID))
	}
	if ev.Live != nil && ev.Type != "promoted" {
		fields = append(fields, field("Live", ev.Live.describe()))
	}
	if ev.Replaced != nil {
		fields = append(fields, field("Replaced", ev.Replaced.describe()))
	}
	if ev.Commit != "" {
		fields = append(fields, field("Commit", "`"+shortHash(ev.Commit)+"`"))
	}
	return SlackMessage{
		Text: clip(ev.Summary, slackSectionMax),
		Blocks: []SlackBlock{
			{Type: "header", Text: &SlackText{Type: "plain_text", Text: clip(head, slackHeaderMax), Emoji: true}},
			{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: clip(body, slackSectionMax)}, Fields: fields},
			{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: clip(mrkdwn("bgrender · "+ev.Dir+" · "+ev.Time+" · event "+ev.ID), slackFieldMax)}}},
		},
	}
}

func field(name, value string) SlackText {
	return SlackText{Type: "mrkdwn", Text: clip("*"+name+"*\n"+mrkdwn(value), slackFieldMax)}
}

// mrkdwn escapes the three characters Slack's mrkdwn gives meaning to.
func mrkdwn(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func (s *session) sendSlack(ctx context.Context, url string, ev Event) error {
	body, err := json.Marshal(Slack(ev))
	if err != nil {
		return err
	}
	_, err = s.do(ctx, request{method: http.MethodPost, url: url, header: http.Header{}, body: body})
	if err != nil {
		return fmt.Errorf("slack: %w", err)
	}
	return nil
}
