package crypto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrInvalidKeyFile is returned by LoadNodeKey for a file that is not a node
// key in go-ethereum's format. The returned error wraps it and names the file
// and the problem.
var ErrInvalidKeyFile = errors.New("crypto: invalid node key file")

// nodeKeyHexLen is the length of the hexadecimal key in a node key file.
const nodeKeyHexLen = 64

// maxNodeKeyTrailer is how many line-ending bytes ('\n' or '\r') may follow the
// key: go-ethereum's LoadECDSA accepts at most two.
const maxNodeKeyTrailer = 2

// LoadNodeKey reads a node key file in go-ethereum's format (the "nodekey"
// file of its data directory): exactly 64 hexadecimal characters (either case)
// encoding the 32-byte private key, optionally followed by a line ending of at
// most two '\n' or '\r' bytes ("\n" and "\r\n" included). Anything else is
// rejected with an error wrapping ErrInvalidKeyFile: leading or inner spaces,
// a 0x prefix, short or long keys, other trailing bytes, or a scalar that is
// zero or not below the group order. Errors opening or reading the file are
// returned as they are (for example, errors.Is(err, fs.ErrNotExist)).
func LoadNodeKey(path string) (*PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	// Read one byte more than the longest valid file, so that longer files
	// are detected without reading them whole.
	var buf [nodeKeyHexLen + maxNodeKeyTrailer + 1]byte
	defer clear(buf[:])
	n, err := io.ReadFull(f, buf[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	content := buf[:n]
	if err := checkNodeKeyText(content); err != nil {
		return nil, fmt.Errorf("%w %s: %s", ErrInvalidKeyFile, path, err.Error())
	}
	var d [32]byte
	defer clear(d[:])
	if _, err := hex.Decode(d[:], content[:nodeKeyHexLen]); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrInvalidKeyFile, path, err)
	}
	k, err := PrivateKeyFromBytes(d[:])
	if err != nil {
		return nil, fmt.Errorf("%w %s: key is zero or not below the secp256k1 group order", ErrInvalidKeyFile, path)
	}
	return k, nil
}

// checkNodeKeyText checks the layout of a node key file (hex digits are
// checked when decoding). It never quotes key material in its errors.
func checkNodeKeyText(content []byte) error {
	keyLen := 0
	for keyLen < len(content) && keyLen < nodeKeyHexLen && isHexDigit(content[keyLen]) {
		keyLen++
	}
	if keyLen < nodeKeyHexLen {
		if keyLen == len(content) || content[keyLen] == '\n' || content[keyLen] == '\r' {
			return fmt.Errorf("key too short: %d hex characters, want %d", keyLen, nodeKeyHexLen)
		}
		return fmt.Errorf("invalid character %q at offset %d, want %d hex characters", content[keyLen], keyLen, nodeKeyHexLen)
	}
	trailer := content[nodeKeyHexLen:]
	for i, c := range trailer {
		if c != '\n' && c != '\r' {
			if i == 0 && isHexDigit(c) {
				return fmt.Errorf("key too long: want %d hex characters", nodeKeyHexLen)
			}
			return fmt.Errorf("invalid character %q after the key at offset %d", c, nodeKeyHexLen+i)
		}
	}
	if len(trailer) > maxNodeKeyTrailer {
		return fmt.Errorf("more than %d line-ending bytes after the key", maxNodeKeyTrailer)
	}
	return nil
}

// isHexDigit reports whether c is 0-9, a-f or A-F.
func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// SaveNodeKey writes k to path in go-ethereum's node key format: 64 lowercase
// hexadecimal characters, no newline, file mode 0600. The file is replaced
// atomically: the key is written to a temporary file in the same directory,
// synced, and renamed over path, so a crash never leaves a partial key and an
// existing file ends up with mode 0600 too.
func SaveNodeKey(path string, k *PrivateKey) error {
	if k == nil || !validScalar(&k.d) {
		return ErrInvalidPrivateKey
	}
	var text [nodeKeyHexLen]byte
	defer clear(text[:])
	hex.Encode(text[:], k.d[:])

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // fails harmlessly after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(text[:]); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmpName, path)
}
