package vigie

// Names of the audited actions (AuditEntry.Action, and the "action" of a
// timeline action's Data) that other parts of vigie read: the incident
// checklist ticks its steps from them.
const (
	ActionIncidentAcknowledge = "incident.acknowledge"
	ActionIncidentResolve     = "incident.resolve"
	ActionIncidentNote        = "incident.note"
	ActionMailHold            = "mail.hold"
	ActionMailRelease         = "mail.release"
	ActionMailPurge           = "mail.purge"
	ActionMailSuspend         = "mail.suspend"
	ActionMailResume          = "mail.resume"
	ActionDNSApprove          = "dns.approve"
	ActionCTKnownGood         = "ct.known-good"
)
