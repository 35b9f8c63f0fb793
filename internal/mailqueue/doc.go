// Package mailqueue reads the Postfix queue (postqueue -j, postcat) and acts
// on it (postsuper): it finds the messages of one SASL account, sender or
// local uid, and holds, releases or deletes them. Programs are run with
// arguments, never through a shell, and queue ids are validated before they
// reach postsuper.
package mailqueue
