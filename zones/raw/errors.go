package raw

import "errors"

// ErrInvalid: bad input to Land, List, NewBuffer or a Layout — a hostile
// name, bad options, a record the buffer cannot hold. The message names
// what was wrong; nothing was written.
var ErrInvalid = errors.New("raw: invalid input")
