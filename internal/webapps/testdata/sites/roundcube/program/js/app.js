function rcube_webmail() {}
