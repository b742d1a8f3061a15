package server

// msgTrunc is 0 on Windows: there a datagram longer than the buffer fails
// the read with WSAEMSGSIZE instead, which the read-error path drops.
const msgTrunc = 0
