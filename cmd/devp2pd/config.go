package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/urfave/cli/v2"
)

// The config file (--config) is TOML with the same keys as the node flags,
// without the dashes:
//
//	port = 30303
//	bootnodes = ["enode://…", "enode://…"]   # or one comma separated string
//	"http.port" = 8545                       # a dotted name, quoted …
//	[ws]                                     # … or as a table
//	enabled = true                           # the switch --ws itself
//	port = 8546
//	[limits]                                 # --limits.*
//	pendingperip = 4
//	subnetexempt = ["lan", "203.0.113.0/24"]
//	[policy]                                 # --policy.*
//	bantime = "2h"
//
// A flag given on the command line wins over the file. Unknown keys and
// values of the wrong type are errors that name the key.

// listFlags take a comma separated list, which the config file may also
// give as an array of strings.
var listFlags = map[string]bool{
	"bootnodes": true, "staticnodes": true, "trustednodes": true,
	"netrestrict": true, "http.vhosts": true, "ws.origins": true,
	"limits.subnetexempt": true,
}

// tableGroups are the flag groups that dumpconfig writes as TOML tables
// ([limits], [policy]) rather than as quoted dotted keys.
var tableGroups = []string{"limits", "policy"}

// switchKey is the member of a table that sets the switch of the same
// name as the table: [http] enabled = true is --http.
const switchKey = "enabled"

// configSource records where each node setting came from, so that errors
// name the flag or the config file key.
type configSource struct {
	file string          // the config file, if any
	keys map[string]bool // flags set from it
}

// describe names the origin of the setting name for an error message.
func (src *configSource) describe(name string) string {
	if src != nil && src.keys[name] {
		return fmt.Sprintf("key %q in config file %s", name, src.file)
	}
	return "--" + name
}

// applyConfigFile sets the node flags from the TOML file at path, except
// those given on the command line.
func applyConfigFile(ctx *cli.Context, path string) (*configSource, error) {
	src := &configSource{file: path, keys: make(map[string]bool)}
	var raw map[string]any
	md, err := toml.DecodeFile(path, &raw)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, fmt.Errorf("config file %s: %s", path, perr.ErrorWithPosition())
		}
		return nil, fmt.Errorf("config file: %w", err)
	}
	flags := make(map[string]cli.Flag)
	for _, f := range nodeFlags {
		flags[f.Names()[0]] = f
	}
	for _, key := range md.Keys() {
		v := lookupKey(raw, key)
		if _, ok := v.(map[string]any); ok {
			continue // a table: its members follow
		}
		name := strings.Join(key, ".")
		if len(key) > 1 && key[len(key)-1] == switchKey {
			if _, ok := flags[strings.Join(key[:len(key)-1], ".")].(*cli.BoolFlag); ok {
				name = strings.Join(key[:len(key)-1], ".")
			}
		}
		f, ok := flags[name]
		if !ok || name == configFlag.Name {
			return nil, fmt.Errorf("config file %s: unknown key %q%s", path, name, suggest(name, flags))
		}
		value, err := configValue(f, v)
		if err != nil {
			return nil, fmt.Errorf("config file %s: key %q: %v", path, name, err)
		}
		if ctx.IsSet(name) {
			continue // the command line wins
		}
		if err := ctx.Set(name, value); err != nil {
			return nil, fmt.Errorf("config file %s: key %q: invalid value %q: %v", path, name, value, err)
		}
		src.keys[name] = true
	}
	return src, nil
}

// lookupKey returns the value at a key path of a decoded document.
func lookupKey(doc map[string]any, key toml.Key) any {
	var v any = doc
	for _, k := range key {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// configValue converts a TOML value to the string form of flag f, checking
// its type.
func configValue(f cli.Flag, v any) (string, error) {
	switch f.(type) {
	case *cli.IntFlag:
		if n, ok := v.(int64); ok {
			return strconv.FormatInt(n, 10), nil
		}
		return "", fmt.Errorf("want an integer, have %s", describeTOML(v))
	case *cli.BoolFlag:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
		return "", fmt.Errorf("want true or false, have %s", describeTOML(v))
	case *cli.DurationFlag:
		if d, ok := v.(string); ok {
			return d, nil
		}
		return "", fmt.Errorf("want a duration string such as \"1h\" or \"30m\", have %s", describeTOML(v))
	}
	name := f.Names()[0]
	switch v := v.(type) {
	case string:
		return v, nil
	case []any:
		if !listFlags[name] {
			return "", fmt.Errorf("want a string, have %s", describeTOML(v))
		}
		items := make([]string, len(v))
		for i, item := range v {
			s, ok := item.(string)
			if !ok {
				return "", fmt.Errorf("item %d: want a string, have %s", i, describeTOML(item))
			}
			if strings.Contains(s, ",") {
				return "", fmt.Errorf("item %d: %q contains a comma", i, s)
			}
			items[i] = s
		}
		return strings.Join(items, ","), nil
	}
	if listFlags[name] {
		return "", fmt.Errorf("want a string or an array of strings, have %s", describeTOML(v))
	}
	return "", fmt.Errorf("want a string, have %s", describeTOML(v))
}

// describeTOML names a decoded TOML value for an error message.
func describeTOML(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// suggest returns ` (did you mean "x"?)` for the flag name closest to an
// unknown key, if one is close.
func suggest(name string, flags map[string]cli.Flag) string {
	best, bestDist := "", 3
	for f := range flags {
		if d := editDistance(name, f); d < bestDist || (d == bestDist && f < best) {
			best, bestDist = f, d
		}
	}
	if best == "" || best == configFlag.Name {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// dumpConfig writes the node settings of ctx as a config file. The flags
// of tableGroups go into one table each, after the other keys.
func dumpConfig(ctx *cli.Context) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# devp2pd configuration; keys are the flag names, see devp2pd --help.\n")
	tables := make(map[string][]cli.Flag)
	for _, f := range nodeFlags {
		name := f.Names()[0]
		if name == configFlag.Name {
			continue
		}
		if group, _, ok := strings.Cut(name, "."); ok && slices.Contains(tableGroups, group) {
			tables[group] = append(tables[group], f)
			continue
		}
		if err := toml.NewEncoder(&buf).Encode(map[string]any{name: flagValue(ctx, f)}); err != nil {
			return nil, err
		}
	}
	for _, group := range tableGroups {
		fmt.Fprintf(&buf, "\n[%s]\n", group)
		for _, f := range tables[group] {
			key := strings.TrimPrefix(f.Names()[0], group+".")
			if err := toml.NewEncoder(&buf).Encode(map[string]any{key: flagValue(ctx, f)}); err != nil {
				return nil, err
			}
		}
	}
	return buf.Bytes(), nil
}

// flagValue returns the value of flag f in ctx for the config file.
func flagValue(ctx *cli.Context, f cli.Flag) any {
	name := f.Names()[0]
	switch f.(type) {
	case *cli.IntFlag:
		return ctx.Int(name)
	case *cli.BoolFlag:
		return ctx.Bool(name)
	case *cli.DurationFlag:
		return ctx.Duration(name).String()
	}
	return ctx.String(name)
}
