// Package rlptest checks our rlp package against go-ethereum's, value by value
// and with a differential fuzz test over both decoders.
package rlptest
