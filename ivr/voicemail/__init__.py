"""Personal voicemail of staff extensions: boxes, message-waiting lamps, mails, the phone's menus."""
