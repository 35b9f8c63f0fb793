// Package milter is vigie's Postfix milter: the one gate every outgoing
// message passes, whatever path it takes. Postfix's smtpd_milters see SMTP
// mail (SASL submission and unauthenticated local clients);
// non_smtpd_milters see what local users submit with sendmail, whose uid
// is in the Received header Postfix's pickup prepends. Each message is
// described to a Gate at end of message, which says accept, hold (Postfix's
// hold queue, through the milter quarantine action), or tempfail.
//
// The two paths listen on two addresses, so that a message's path is known
// from where Postfix connected, never from anything the sender wrote: an
// SMTP client can write a "(Postfix, from userid 0)" header of its own.
//
// Fail-open: Postfix is told milter_default_action = accept, so a stopped
// or slow vigie lets mail through; on its side the milter accepts when the
// gate panics or takes too long.
package milter
